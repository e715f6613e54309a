using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Backends.Tests;

/// <summary>
/// What every data backend must do, written once and run by a short subclass per backend (core in memory, Parquet,
/// HeavyDB on the embedded engine, HeavyDB through the protocol-level stand-in server over binary and over HTTP, HeavyDB
/// on a real server when HEAVYDB_URL is set).
/// </summary>
public abstract class BackendComplianceTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    /// <summary>A fresh temporary directory for this test's files and stores.</summary>
    protected string Directory => _dir.Path;

    /// <summary>The backend under test, opened on a store of its own.</summary>
    protected IDataBackend Backend { get; private set; } = null!;

    /// <summary>Opens the backend on a store under <paramref name="storeDirectory"/>.</summary>
    protected abstract Task<IDataBackend> OpenAsync(string storeDirectory);

    /// <summary>Opens the backend somewhere it cannot work (an unusable store, an unreachable server); null if it cannot be down.</summary>
    protected abstract Task<IDataBackend?> OpenDownAsync(string storeDirectory);

    /// <summary>
    /// Damages the stored copy of <paramref name="fingerprint"/> and returns the backend to read it through (the same
    /// one, or one reopened on the damaged store; opening may itself fail with a <see cref="BackendException"/>);
    /// null when the backend keeps no store file to damage.
    /// </summary>
    protected abstract Task<IDataBackend?> CorruptAsync(string fingerprint);

    /// <summary>Why this backend cannot be tested here, or null.</summary>
    protected virtual string? Unavailable => null;

    public async Task InitializeAsync() => Backend = await OpenAsync(Path.Combine(Directory, "store"));

    public async Task DisposeAsync()
    {
        await Backend.DisposeAsync();
        await StopAsync();
        _dir.Dispose();
    }

    /// <summary>Stops whatever the subclass started for the backend (a server).</summary>
    protected virtual Task StopAsync() => Task.CompletedTask;

    /// <summary>Replaces the backend under test (after reopening it on a damaged store).</summary>
    protected async Task<IDataBackend> ReplaceAsync(Func<Task<IDataBackend>> open)
    {
        await Backend.DisposeAsync();
        Backend = new InMemoryBackend();
        Backend = await open();
        return Backend;
    }

    protected string Csv(StrategyMatrix matrix, string name = "input.csv") => _dir.File(name, Some.Csv(matrix));

    [SkippableFact]
    public async Task Ingest_is_idempotent_by_content_fingerprint()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var matrix = Some.RandomMatrix(40, 12, 1);
        var first = await Backend.IngestAsync(Csv(matrix, "a.csv"));
        var again = await Backend.IngestAsync(Csv(matrix, "a.csv"));
        var copy = await Backend.IngestAsync(Csv(matrix, "copy-of-a.csv"));

        Assert.Equal(first.Fingerprint, again.Fingerprint);
        Assert.Equal(first.Fingerprint, copy.Fingerprint);
        Assert.Single(await Backend.ListAsync());
        Assert.Equal((40, 12), (first.Strategies, first.Rows));
        Assert.Equal(Backend.Name, first.Backend);
    }

    [SkippableFact]
    public async Task Concurrent_ingests_of_one_file_make_one_copy()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var path = Csv(Some.RandomMatrix(60, 20, 2));
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Backend.IngestAsync(path))));

        Assert.Single(results.Select(r => r.Fingerprint).Distinct());
        Assert.Single(await Backend.ListAsync());
        Assert.Equal(60, (await Backend.LoadAsync(results[0].Fingerprint)).Matrix.Count);
    }

    [SkippableFact]
    public async Task Matrix_round_trips_exactly()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var matrix = Some.RandomMatrix(37, 23, 3);
        var path = _dir.File("odd.csv", Some.Csv(matrix).Replace("Date,S0,", "Date,\"S0, with 'quotes'\",", StringComparison.Ordinal));
        var stored = await Backend.IngestAsync(path);
        var loaded = await Backend.LoadAsync(stored.Fingerprint);

        Assert.Equal("S0, with 'quotes'", loaded.Matrix.Names[0]);
        Assert.Equal(matrix.Names.Skip(1), loaded.Matrix.Names.Skip(1));
        Assert.Equal(matrix.Dates, loaded.Matrix.Dates);
        Assert.Equal(matrix.Values.ToArray(), loaded.Matrix.Values.ToArray());
        Assert.Equal(stored.Fingerprint, loaded.Fingerprint);
    }

    [SkippableFact]
    public async Task Empty_cell_warnings_survive_the_store()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var path = _dir.File("gaps.csv", "Date,A,B\n2024-01-04,1,\n2024-01-11,,2\n");
        var loaded = await Backend.LoadAsync((await Backend.IngestAsync(path)).Fingerprint);

        Assert.Equal(2, loaded.EmptyCells);
        Assert.Equal(2, loaded.Warnings.Count(w => w.Contains("empty cell", StringComparison.Ordinal)));
        Assert.Equal([1.0, 0], loaded.Matrix.Column(0).ToArray());
    }

    [SkippableFact]
    public async Task Metrics_match_the_engine_on_random_data_and_edge_series()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var matrix = Some.Matrix([1, 2, 3, 4], [5, 5, 5, 5], [-1, -2, -3, -4], [0, 0, 0, 0], [-5, 10, -3, 1], [10, -6, 3, 0]);
        await AssertMetricsMatch(Csv(matrix, "edges.csv"));
        await AssertMetricsMatch(Csv(Some.RandomMatrix(120, 30, 4), "random.csv"));
    }

    [SkippableTheory]
    [InlineData("sensex_2500.csv")]
    [InlineData("wide_25544x5_a.csv")]
    [InlineData("wide_25544x5_b.csv")]
    public async Task Metrics_match_the_engine_on_the_real_files(string file)
    {
        Skip.If(Unavailable is not null, Unavailable);
        await AssertMetricsMatch(SharedData.File(file));
    }

    [SkippableTheory]
    [InlineData("Date,A,B\n2024-01-04,1,2\n2024-01-11,1,abc\n", "not a finite number")]
    [InlineData("Date,A,A\n2024-01-04,1,2\n2024-01-11,1,2\n", "duplicate")]
    [InlineData("Date,A,B\n2024-01-04,1,2\n2024-01-11,1\n", "ragged")]
    [InlineData("Day,A\nMon,1\nTue,2\n", "missing 'Date'")]
    [InlineData("Date,A\n2024-01-04,1\n", "at least 2")]
    [InlineData("", "empty")]
    public async Task Bad_input_is_rejected_with_the_reader_error_and_nothing_is_stored(string content, string reason)
    {
        Skip.If(Unavailable is not null, Unavailable);
        var e = await Assert.ThrowsAsync<DatasetException>(() => Backend.IngestAsync(_dir.File("bad.csv", content)));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.csv", e.Message, StringComparison.Ordinal);
        Assert.Empty(await Backend.ListAsync());
    }

    [SkippableFact]
    public async Task A_corrupted_store_file_is_never_silently_used()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var matrix = Some.RandomMatrix(50, 16, 5);
        var stored = await Backend.IngestAsync(Csv(matrix));
        var name = Backend.Name;
        try
        {
            var damaged = await CorruptAsync(stored.Fingerprint);
            Skip.If(damaged is null, $"the {name} backend keeps no store file to corrupt");
            var loaded = await damaged!.LoadAsync(stored.Fingerprint);
            // Whatever the store went through, what comes back is exactly the original or nothing.
            Assert.Equal(matrix.Values.ToArray(), loaded.Matrix.Values.ToArray());
            Assert.Equal(matrix.Names, loaded.Matrix.Names);
        }
        catch (BackendException e)
        {
            Assert.Contains(name, e.Message, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task A_backend_that_is_down_fails_clearly_and_leaves_nothing()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var path = Csv(Some.RandomMatrix(10, 5, 6));
        IDataBackend? down;
        try
        {
            down = await OpenDownAsync(Path.Combine(Directory, "down"));
        }
        catch (BackendException e)
        {
            Assert.Contains(Backend.Name, e.Message, StringComparison.Ordinal);
            return;
        }

        Skip.If(down is null, $"the {Backend.Name} backend runs in process and cannot be down");
        await using (down)
        {
            var error = await Assert.ThrowsAsync<BackendException>(() => down!.IngestAsync(path));
            Assert.Contains(Backend.Name, error.Message, StringComparison.Ordinal);
            Assert.False((await down!.HealthAsync()).Healthy);
        }

        Assert.Empty(await Backend.ListAsync());
    }

    [SkippableFact]
    public async Task Drop_removes_a_dataset_and_describe_reports_what_is_stored()
    {
        Skip.If(Unavailable is not null, Unavailable);
        var stored = await Backend.IngestAsync(Csv(Some.RandomMatrix(8, 6, 7)));
        var described = await Backend.DescribeAsync(stored.Fingerprint);

        Assert.Equal(stored.Fingerprint, described!.Fingerprint);
        Assert.Equal(new DateOnly(2024, 1, 1), described.FirstDate);
        Assert.True(await Backend.DropAsync(stored.Fingerprint));
        Assert.False(await Backend.DropAsync(stored.Fingerprint));
        Assert.Null(await Backend.DescribeAsync(stored.Fingerprint));
        await Assert.ThrowsAsync<BackendException>(() => Backend.LoadAsync(stored.Fingerprint));
        Assert.True((await Backend.HealthAsync()).Healthy);
    }

    private async Task AssertMetricsMatch(string path)
    {
        var stored = await Backend.IngestAsync(path);
        var engine = Optimizer.StrategyMetrics(CsvDatasetReader.Read(path).Matrix);
        var backend = await Backend.ComputeMetricsAsync(stored.Fingerprint);

        Assert.Equal(engine.Length, backend.Length);
        for (var i = 0; i < engine.Length; i++)
        {
            Close(engine[i].Roi, backend[i].Roi, i, "ROI");
            Close(engine[i].MaxDrawdown, backend[i].MaxDrawdown, i, "Max Drawdown");
            Close(engine[i].WinPercentage, backend[i].WinPercentage, i, "Win Percentage");
            Close(engine[i].ProfitFactor, backend[i].ProfitFactor, i, "Profit Factor");
            Close(engine[i].Expectancy, backend[i].Expectancy, i, "Expectancy");
            Close(engine[i].Sharpe, backend[i].Sharpe, i, "Sharpe");
            Close(engine[i].Sortino, backend[i].Sortino, i, "Sortino");
            Close(engine[i].AnnualizedReturn, backend[i].AnnualizedReturn, i, "Annualized Return");
        }
    }

    /// <summary>Equal within 1e-9 relative (absolute near zero, where relative has no meaning).</summary>
    private static void Close(double expected, double actual, int strategy, string metric)
    {
        var ok = expected.Equals(actual) || Math.Abs(expected - actual) <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(expected), Math.Abs(actual)));
        Assert.True(ok, $"strategy {strategy} {metric}: engine {expected:R}, backend {actual:R}");
    }
}
