using HeavyOptimizer.Backends.HeavyDb.Thrift;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>How to reach the HeavyDB backend's engine.</summary>
public sealed record HeavyDbOptions
{
    /// <summary>
    /// <c>embedded</c>, or a <c>heavydb://</c> URL. When null, <c>HEAVYDB_URL</c> is used if set, else the embedded
    /// engine.
    /// </summary>
    public string? Url { get; init; }

    /// <summary>Where the embedded engine keeps its database file (<c>heavydb-embedded/hopt.duckdb</c> below it).</summary>
    public string DataDirectory { get; init; } = DataDirectories.Default;
}

/// <summary>
/// Datasets as HeavyDB tables: one long table per ingest (<c>hopt_returns_&lt;fingerprint prefix&gt;_&lt;nonce&gt;</c>)
/// loaded with <c>load_table_binary_columnar</c>, and a registry table <c>hopt_datasets</c> whose row is written last
/// (so a table without one is a leftover, never read). HeavyDB has no transactions, so nothing is ever loaded into a
/// table another writer may be using: each ingest loads a table of its own and then registers it. When several
/// processes (silos, <c>hopt dataset ingest</c>) store one new file at once, each registers its own complete copy; the
/// first registered is the dataset (<see cref="Winner"/>) and the others drop their copies again. Per-strategy metrics
/// are one SQL query with window functions for the drawdown. The SQL runs on a real server or on the embedded stand-in
/// (<see cref="DuckDbEngine"/>).
/// </summary>
public sealed class HeavyDbBackend : IDataBackend
{
    private const string Registry = "hopt_datasets";
    private static readonly string[] ReturnsColumns = ["strategy_no", "strategy", "row_no", "trade_date", "pnl"];
    private readonly ISqlEngine _engine;

    private HeavyDbBackend(ISqlEngine engine) => _engine = engine;

    /// <inheritdoc />
    public string Name => "heavydb";

    /// <summary>What the SQL runs on (server URL without password, or the embedded engine's file).</summary>
    public string Engine => _engine.Description;

    /// <summary>True when the SQL runs on the embedded stand-in rather than a HeavyDB server.</summary>
    public bool IsEmbedded => _engine is DuckDbEngine;

    /// <summary>Connects (or opens the embedded engine) and makes sure the registry table exists.</summary>
    public static async Task<HeavyDbBackend> OpenAsync(HeavyDbOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var url = options.Url ?? Environment.GetEnvironmentVariable(HeavyDbConnection.EnvironmentVariable);
        ISqlEngine engine = string.IsNullOrWhiteSpace(url) || url.Equals("embedded", StringComparison.OrdinalIgnoreCase)
            ? DuckDbEngine.Open(Path.Combine(Path.GetFullPath(options.DataDirectory), "heavydb-embedded", "hopt.duckdb"))
            : await ThriftEngine.ConnectAsync(HeavyDbConnection.Parse(url), cancellation);
        var backend = new HeavyDbBackend(engine);
        try
        {
            await backend.RunAsync($"CREATE TABLE IF NOT EXISTS {RegistrySchema(engine.Dialect)}", cancellation);
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }

        return backend;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Loads a table of its own and registers it; when the connection breaks in the middle (HeavyDB cannot say whether
    /// a load whose answer was lost went in), the whole ingest runs once more, into a new table. When it fails for good,
    /// its table is dropped (once, best effort: a leftover with its unique name harms nothing) and the failure's own
    /// error is what surfaces.
    /// </remarks>
    public async Task<StoredDataset> IngestAsync(string csvPath, CancellationToken cancellation = default)
    {
        var dataset = CsvDatasetReader.Read(csvPath);
        using var held = await DatasetLocks.AcquireAsync($"heavydb:{_engine.Description}:{dataset.Fingerprint}", cancellation);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DescribeAsync(dataset.Fingerprint, cancellation) ?? await StoreAsync(dataset, cancellation);
            }
            catch (HeavyDbConnectionLostException) when (attempt == 1)
            {
                // Once more, from the start, into a new table.
            }
        }
    }

    private async Task<StoredDataset> StoreAsync(Dataset dataset, CancellationToken cancellation)
    {
        var table = $"{TablePrefix(dataset.Fingerprint)}_{Guid.NewGuid():N}"[..(13 + 16 + 1 + 12)];
        var info = InMemoryBackend.Describe(Name, dataset, table);
        try
        {
            await RunAsync(_engine.Dialect.CreateTable(table, ("strategy_no", "INT"), ("strategy", "TEXT"), ("row_no", "INT"), ("trade_date", "DATE"), ("pnl", "DOUBLE")), cancellation);
            await _engine.LoadAsync(table, ReturnsColumns, Columns(dataset.Matrix), cancellation);
            var registered = DateTimeOffset.UtcNow;
            await RunAsync($"INSERT INTO {Registry} VALUES ({SqlDialect.Literal(info.Fingerprint)}, {SqlDialect.Literal(table)}, " +
                           $"{SqlDialect.Literal(info.Source)}, {info.Strategies}, {info.Rows}, {SqlDialect.Literal(info.FirstDate)}, " +
                           $"{SqlDialect.Literal(info.LastDate)}, {info.EmptyCells}, {SqlDialect.Literal(string.Join('\n', dataset.Warnings))}, " +
                           $"{SqlDialect.Literal(registered)}, {SqlDialect.Literal(registered.ToUnixTimeMilliseconds())})", cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await TryDropAsync(table);
            throw;
        }

        // Several writers may have registered the same file at once: the first registered is the dataset.
        var winner = Winner(await RegistryAsync($"WHERE fingerprint = {SqlDialect.Literal(dataset.Fingerprint)}", cancellation));
        if (winner is { } first && first.Info.Location != table)
        {
            await RunAsync($"DELETE FROM {Registry} WHERE table_name = {SqlDialect.Literal(table)}", cancellation);
            await TryDropAsync(table);
            return first.Info;
        }

        return winner?.Info ?? info;
    }

    private async Task TryDropAsync(string table)
    {
        try
        {
            await RunAsync($"DROP TABLE IF EXISTS {table}", CancellationToken.None);
        }
        catch (BackendException)
        {
            // Left behind under its own name, never registered: it is never read.
        }
    }

    /// <inheritdoc />
    public async Task<Dataset> LoadAsync(string fingerprint, CancellationToken cancellation = default)
    {
        try
        {
            return await ReadAsync(fingerprint, cancellation);
        }
        catch (BackendException e) when (e.Message.Contains("not found", StringComparison.Ordinal) || e.Message.Contains("does not exist", StringComparison.Ordinal))
        {
            // Its table went between reading the registry and the table (a writer that lost a race dropped its copy).
            return await ReadAsync(fingerprint, cancellation);
        }
    }

    private async Task<Dataset> ReadAsync(string fingerprint, CancellationToken cancellation)
    {
        var (info, warnings) = await RegistryRowAsync(fingerprint, cancellation);
        var table = info.Location;
        var names = await QueryAsync($"SELECT strategy_no, strategy FROM {table} WHERE row_no = 0 ORDER BY strategy_no", cancellation);
        var dates = await QueryAsync($"SELECT row_no, trade_date FROM {table} WHERE strategy_no = 0 ORDER BY row_no", cancellation);
        var values = await QueryAsync($"SELECT pnl FROM {table} ORDER BY strategy_no, row_no", cancellation);
        if (names.RowCount != info.Strategies || dates.RowCount != info.Rows || values.RowCount != info.Strategies * info.Rows)
        {
            throw new BackendException(Name, $"table {table} holds {names.RowCount} x {dates.RowCount} ({values.RowCount} values) where " +
                                             $"the registry says {info.Strategies} x {info.Rows}: the store is damaged; drop and re-ingest it");
        }

        var matrix = new StrategyMatrix(
            names.Columns[1].Strings,
            Enumerable.Range(0, dates.RowCount).Select(r => (DateOnly)dates.Value(r, 1)!).ToArray(),
            values.Columns[0].Reals);
        return new Dataset(info.Source, matrix, fingerprint, info.EmptyCells, warnings);
    }

    /// <inheritdoc />
    public async Task<SeriesMetrics[]> ComputeMetricsAsync(string fingerprint, CancellationToken cancellation = default)
    {
        var (info, _) = await RegistryRowAsync(fingerprint, cancellation);
        var running = "OVER (PARTITION BY strategy_no ORDER BY row_no ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";
        var result = await QueryAsync(
            $"WITH e AS (SELECT strategy_no, row_no, pnl, SUM(pnl) {running} AS equity FROM {info.Location}), " +
            $"p AS (SELECT strategy_no, pnl, equity, MAX(equity) {running} AS peak FROM e) " +
            "SELECT strategy_no, SUM(pnl) AS roi, MAX(peak - equity) AS max_dd, " +
            "SUM(CASE WHEN pnl > 0 THEN pnl ELSE 0 END) AS gain_sum, SUM(CASE WHEN pnl < 0 THEN pnl ELSE 0 END) AS loss_sum, " +
            "SUM(CASE WHEN pnl > 0 THEN 1 ELSE 0 END) AS wins, SUM(CASE WHEN pnl < 0 THEN 1 ELSE 0 END) AS losses, " +
            "STDDEV_POP(pnl) AS sd, STDDEV_POP(CASE WHEN pnl < 0 THEN pnl END) AS loss_sd " +
            "FROM p GROUP BY strategy_no ORDER BY strategy_no", cancellation);
        if (result.RowCount != info.Strategies)
        {
            throw new BackendException(Name, $"metrics query returned {result.RowCount} strategies, expected {info.Strategies}");
        }

        var metrics = new SeriesMetrics[result.RowCount];
        for (var s = 0; s < metrics.Length; s++)
        {
            double Real(int c) => result.Value(s, c) is { } v ? Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var stats = new SeriesStats
            {
                Sum = Real(1),
                MaxDrawdown = Real(2),
                GainSum = Real(3),
                LossSum = Real(4),
                Wins = (int)Real(5),
                Losses = (int)Real(6),
            };
            metrics[s] = SeriesMetrics.FromStats(stats, info.Rows, Real(7), stats.Losses > 0 ? Real(8) : 0);
        }

        return metrics;
    }

    /// <summary>Pearson correlation of two strategies computed by the engine (SQL CORR); 0 when either is constant.</summary>
    public async Task<double> CorrelationAsync(string fingerprint, int a, int b, CancellationToken cancellation = default)
    {
        var (info, _) = await RegistryRowAsync(fingerprint, cancellation);
        var result = await QueryAsync(
            $"SELECT {_engine.Dialect.Correlation("x.pnl", "y.pnl")} FROM {info.Location} x JOIN {info.Location} y ON x.row_no = y.row_no " +
            $"WHERE x.strategy_no = {a} AND y.strategy_no = {b}", cancellation);
        return result.Value(0, 0) is double value ? value : 0;
    }

    /// <summary>How many tables the engine holds for <paramref name="fingerprint"/>'s dataset (registered or left over); for tests and inspection.</summary>
    internal async Task<int> CountTablesAsync(string fingerprint, CancellationToken cancellation = default)
    {
        var prefix = TablePrefix(fingerprint);
        var tables = await QueryAsync(_engine.Dialect.TablesLike(prefix), cancellation);
        return tables.RowCount;
    }

    /// <inheritdoc />
    public async Task<StoredDataset?> DescribeAsync(string fingerprint, CancellationToken cancellation = default)
    {
        return Winner(await RegistryAsync($"WHERE fingerprint = {SqlDialect.Literal(fingerprint)}", cancellation))?.Info;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredDataset>> ListAsync(CancellationToken cancellation = default) =>
        (await RegistryAsync(string.Empty, cancellation)).GroupBy(r => r.Info.Fingerprint).Select(g => Winner(g)!.Value.Info).OrderBy(i => i.IngestedAt).ToList();

    /// <inheritdoc />
    public async Task<bool> DropAsync(string fingerprint, CancellationToken cancellation = default)
    {
        using var held = await DatasetLocks.AcquireAsync($"heavydb:{_engine.Description}:{fingerprint}", cancellation);
        if (await DescribeAsync(fingerprint, cancellation) is not { } info)
        {
            return false;
        }

        // Registry rows first: a table without one is a leftover, never read.
        var tables = (await RegistryAsync($"WHERE fingerprint = {SqlDialect.Literal(fingerprint)}", cancellation)).Select(r => r.Info.Location).ToList();
        await RunAsync($"DELETE FROM {Registry} WHERE fingerprint = {SqlDialect.Literal(fingerprint)}", cancellation);
        foreach (var table in tables.Append(info.Location).Distinct())
        {
            await RunAsync($"DROP TABLE IF EXISTS {table}", cancellation);
        }

        return true;
    }

    /// <inheritdoc />
    public Task<BackendHealth> HealthAsync(CancellationToken cancellation = default) =>
        InMemoryBackend.ProbeAsync(Name, async () =>
        {
            var version = await _engine.VersionAsync(cancellation);
            var count = await QueryAsync($"SELECT COUNT(DISTINCT fingerprint) FROM {Registry}", cancellation);
            return $"{_engine.Description}: {version}, {count.Value(0, 0)} dataset(s)";
        });

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _engine.DisposeAsync();

    /// <summary>The start of a dataset's table names: a fixed prefix and the first 16 hex digits of its fingerprint.</summary>
    internal static string TablePrefix(string fingerprint) =>
        fingerprint.Length >= 16 && fingerprint.All(char.IsAsciiHexDigit)
            ? $"hopt_returns_{fingerprint[..16]}"
            : throw new BackendException("heavydb", $"'{fingerprint}' is not a dataset fingerprint");

    /// <summary>Of the registered copies of one dataset, the one that is the dataset: the first registered (then the lowest table name).</summary>
    private static (StoredDataset Info, string[] Warnings, long Registered)? Winner(IEnumerable<(StoredDataset Info, string[] Warnings, long Registered)> rows) =>
        rows.OrderBy(r => r.Registered).ThenBy(r => r.Info.Location, StringComparer.Ordinal).Cast<(StoredDataset, string[], long)?>().FirstOrDefault();

    private static string RegistrySchema(SqlDialect d) =>
        $"{Registry} (fingerprint {d.TextType}, table_name {d.TextType}, source {d.TextType}, strategies INT, n_rows INT, " +
        $"first_date DATE, last_date DATE, empty_cells BIGINT, warnings {d.TextType}, ingested_at TIMESTAMP, registered_ms BIGINT)";

    private static HeavyColumn[] Columns(StrategyMatrix matrix)
    {
        var total = matrix.Count * matrix.Rows;
        var strategyNo = new long[total];
        var strategy = new string[total];
        var rowNo = new long[total];
        var dates = new DateOnly[total];
        for (var s = 0; s < matrix.Count; s++)
        {
            for (var t = 0; t < matrix.Rows; t++)
            {
                var i = s * matrix.Rows + t;
                (strategyNo[i], strategy[i], rowNo[i], dates[i]) = (s, matrix.Names[s], t, matrix.Dates[t]);
            }
        }

        return [HeavyColumn.OfInts(strategyNo), HeavyColumn.OfStrings(strategy), HeavyColumn.OfInts(rowNo), HeavyColumn.OfDates(dates), HeavyColumn.OfReals(matrix.Values.ToArray())];
    }

    private async Task<(StoredDataset Info, string[] Warnings)> RegistryRowAsync(string fingerprint, CancellationToken cancellation)
    {
        var winner = Winner(await RegistryAsync($"WHERE fingerprint = {SqlDialect.Literal(fingerprint)}", cancellation));
        return winner is { } row ? (row.Info, row.Warnings) : throw new BackendException(Name, $"no dataset with fingerprint {fingerprint} ({_engine.Description})");
    }

    private async Task<List<(StoredDataset Info, string[] Warnings, long Registered)>> RegistryAsync(string clause, CancellationToken cancellation)
    {
        var result = await QueryAsync(
            "SELECT fingerprint, table_name, source, strategies, n_rows, first_date, last_date, empty_cells, warnings, ingested_at, registered_ms " +
            $"FROM {Registry} {clause}", cancellation);
        var rows = new List<(StoredDataset, string[], long)>();
        for (var r = 0; r < result.RowCount; r++)
        {
            var info = new StoredDataset(Name, (string)result.Value(r, 0)!, (string)result.Value(r, 2)!,
                (int)(long)result.Value(r, 3)!, (int)(long)result.Value(r, 4)!, (DateOnly)result.Value(r, 5)!, (DateOnly)result.Value(r, 6)!,
                (long)result.Value(r, 7)!, (string)result.Value(r, 1)!, new DateTimeOffset((DateTime)result.Value(r, 9)!, TimeSpan.Zero));
            var warnings = ((string?)result.Value(r, 8) ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            rows.Add((info, warnings, (long)result.Value(r, 10)!));
        }

        return rows;
    }

    private async Task RunAsync(string sql, CancellationToken cancellation)
    {
        try
        {
            await _engine.ExecuteAsync(sql, cancellation);
        }
        catch (HeavyDbServerException e)
        {
            throw new BackendException(Name, $"{_engine.Dialect.Name} rejected SQL ({e.Message})", e);
        }
    }

    private async Task<HeavyQueryResult> QueryAsync(string sql, CancellationToken cancellation)
    {
        try
        {
            return await _engine.QueryAsync(sql, cancellation);
        }
        catch (HeavyDbServerException e)
        {
            throw new BackendException(Name, $"{_engine.Dialect.Name} rejected a query ({e.Message})", e);
        }
    }
}
