using System.Collections.Concurrent;
using System.Data;
using System.Globalization;
using DuckDB.NET.Data;
using HeavyOptimizer.Backends.HeavyDb.Thrift;

namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// The embedded stand-in for a HeavyDB server: DuckDB in a file under the data directory, running the same SQL as a
/// real server would (dialect differences in <see cref="SqlDialect"/>). It is not HeavyDB; what it proves is that the
/// backend's SQL path computes the right numbers. DuckDB lets one process at a time hold a database file, so the file
/// is opened for each statement and closed after it: any number of processes (silos sharing a data directory,
/// <c>hopt dataset inspect</c> beside them) take turns, waiting for one another's lock for up to
/// <see cref="LockWait"/>; within a process, statements on one file run one at a time.
/// </summary>
internal sealed class DuckDbEngine : ISqlEngine
{
    /// <summary>How long a statement waits for another process to release the file; default 2 minutes.</summary>
    public static readonly TimeSpan LockWait = TimeSpan.FromMinutes(2);

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);
    private readonly string _path;
    private readonly SemaphoreSlim _gate;

    private DuckDbEngine(string path)
    {
        _path = path;
        _gate = Gates.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        Description = $"embedded DuckDB standing in for HeavyDB ({path})";
    }

    public SqlDialect Dialect => SqlDialect.DuckDb;

    public string Description { get; }

    public static DuckDbEngine Open(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return new DuckDbEngine(Path.GetFullPath(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BackendException("heavydb", $"embedded engine cannot open {path}: {e.Message}", e);
        }
    }

    public Task ExecuteAsync(string sql, CancellationToken cancellation) => UseAsync(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
        return true;
    }, cancellation);

    public Task<HeavyQueryResult> QueryAsync(string sql, CancellationToken cancellation) => UseAsync(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var descriptors = new HeavyColumnType[reader.FieldCount];
        var columns = new ColumnBuilder[reader.FieldCount];
        for (var c = 0; c < reader.FieldCount; c++)
        {
            descriptors[c] = new HeavyColumnType(reader.GetName(c), TypeOf(reader.GetFieldType(c), reader.GetDataTypeName(c)), 0, true);
            columns[c] = new ColumnBuilder(descriptors[c].Type);
        }

        while (reader.Read())
        {
            for (var c = 0; c < columns.Length; c++)
            {
                columns[c].Add(reader, c);
            }
        }

        return new HeavyQueryResult(descriptors, columns.Select(b => b.Build()).ToList(), 0, 0);
    }, cancellation);

    public Task LoadAsync(string table, IReadOnlyList<string> columnNames, IReadOnlyList<HeavyColumn> columns, CancellationToken cancellation) => UseAsync(connection =>
    {
        using var appender = connection.CreateAppender(table);
        var kinds = columns.Select(c => c.Strings.Length > 0 ? 's' : c.Reals.Length > 0 ? 'r' : 'i').ToArray();
        var types = ColumnTypes(connection, table, columnNames);
        for (var row = 0; row < columns[0].Length; row++)
        {
            var target = appender.CreateRow();
            for (var c = 0; c < columns.Count; c++)
            {
                var column = columns[c];
                if (column.Nulls[row])
                {
                    target.AppendNullValue();
                }
                else if (kinds[c] == 's')
                {
                    target.AppendValue(column.Strings[row]);
                }
                else if (kinds[c] == 'r')
                {
                    target.AppendValue((double?)column.Reals[row]);
                }
                else if (types[c] == "DATE")
                {
                    target.AppendValue((DateOnly?)DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(column.Ints[row]).UtcDateTime));
                }
                else if (types[c] == "INTEGER")
                {
                    target.AppendValue((int?)checked((int)column.Ints[row]));
                }
                else
                {
                    target.AppendValue((long?)column.Ints[row]);
                }
            }

            target.EndRow();
        }

        appender.Close();
        return true;
    }, cancellation);

    public Task<string> VersionAsync(CancellationToken cancellation) => UseAsync(connection => $"DuckDB {connection.ServerVersion}", cancellation);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Makes the database file when there is none: under a private name, then linked into place whole (never
    /// replacing one another process made first). DuckDB writes a new file's header only after creating it, so a
    /// process opening the shared name that moment would find an invalid file (CI saw three processes ingesting one new
    /// file fail so); this way an invalid file is always a damaged one, reported at once.
    /// </summary>
    private void CreateIfMissing()
    {
        if (File.Exists(_path))
        {
            return;
        }

        RemoveAbandoned();
        var temporary = $"{_path}.{Guid.NewGuid():N}.new";
        try
        {
            using (var connection = new DuckDBConnection($"Data Source={temporary}"))
            {
                connection.Open();
            }

            File.Move(temporary, _path, overwrite: false);
        }
        catch (IOException) when (File.Exists(_path))
        {
            // Another process made it first: theirs stands.
        }
        finally
        {
            File.Delete(temporary);
            File.Delete(temporary + ".wal");
        }
    }

    /// <summary>
    /// Private files of creations that never finished (their process was killed in the milliseconds it takes): any
    /// older than a minute, long past a live creation's, are removed.
    /// </summary>
    private void RemoveAbandoned()
    {
        var stale = DateTime.UtcNow - TimeSpan.FromMinutes(1);
        foreach (var file in Directory.EnumerateFiles(Path.GetDirectoryName(_path)!, Path.GetFileName(_path) + ".*.new*"))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(file) < stale)
                {
                    File.Delete(file);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for a later creation: it is never read.
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on the file, opened for it alone; waits while another process holds the file.</summary>
    private async Task<T> UseAsync<T>(Func<DuckDBConnection, T> work, CancellationToken cancellation)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            CreateIfMissing();
            var deadline = DateTime.UtcNow + LockWait;
            var pause = TimeSpan.FromMilliseconds(10);
            while (true)
            {
                var connection = new DuckDBConnection($"Data Source={_path}");
                try
                {
                    connection.Open();
                }
                catch (DuckDBException e)
                {
                    connection.Dispose();
                    if (DateTime.UtcNow >= deadline || !e.Message.Contains("Could not set lock", StringComparison.Ordinal))
                    {
                        // No SQL ran: the file itself is damaged, not a DuckDB database, or held too long by another process.
                        throw new BackendException("heavydb", $"embedded engine cannot open {_path}: {Core.Messages.OneLine(e.Message)}", e);
                    }

                    await Task.Delay(pause, cancellation);
                    pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(250).Ticks));
                    continue;
                }

                using (connection)
                {
                    return work(connection);
                }
            }
        }
        catch (DuckDBException e)
        {
            throw new HeavyDbServerException(e.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>DuckDB's type name of each column to load, so every value is appended as exactly that type.</summary>
    private static string[] ColumnTypes(DuckDBConnection connection, string table, IReadOnlyList<string> columnNames)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = {SqlDialect.Literal(table)}";
        using var reader = command.ExecuteReader();
        var types = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (reader.Read())
        {
            types[reader.GetString(0)] = reader.GetString(1).ToUpperInvariant();
        }

        return columnNames.Select(n => types.TryGetValue(n, out var t) ? t : throw new HeavyDbServerException($"{table} has no column {n}")).ToArray();
    }

    private static HeavyDatumType TypeOf(Type type, string duckType)
    {
        var name = duckType.ToUpperInvariant();
        return type == typeof(string) ? HeavyDatumType.Str
            : type == typeof(double) || type == typeof(float) || type == typeof(decimal) ? HeavyDatumType.Double
            : type == typeof(bool) ? HeavyDatumType.Bool
            : name.Contains("TIMESTAMP", StringComparison.Ordinal) || type == typeof(DateTimeOffset) ? HeavyDatumType.Timestamp
            : name.Contains("DATE", StringComparison.Ordinal) || type == typeof(DateOnly) || type == typeof(DateTime) ? HeavyDatumType.Date
            : name == "INTEGER" ? HeavyDatumType.Int
            : HeavyDatumType.BigInt;
    }

    /// <summary>Collects one result column straight into HeavyDB's typed lists, without boxing each value.</summary>
    private sealed class ColumnBuilder(HeavyDatumType type)
    {
        private readonly List<long> _ints = [];
        private readonly List<double> _reals = [];
        private readonly List<string> _strings = [];
        private readonly List<bool> _nulls = [];

        public void Add(IDataReader reader, int c)
        {
            var isNull = reader.IsDBNull(c);
            _nulls.Add(isNull);
            switch (type)
            {
                case HeavyDatumType.Str:
                    _strings.Add(isNull ? string.Empty : reader.GetString(c));
                    break;
                case HeavyDatumType.Double:
                    _reals.Add(isNull ? 0 : Convert.ToDouble(reader.GetValue(c), CultureInfo.InvariantCulture));
                    break;
                case HeavyDatumType.Date:
                    _ints.Add(isNull ? 0 : EpochSeconds(((DuckDBDataReader)reader).GetFieldValue<DateOnly>(c).ToDateTime(TimeOnly.MinValue)));
                    break;
                case HeavyDatumType.Timestamp:
                    _ints.Add(isNull ? 0 : EpochSeconds(reader.GetDateTime(c)));
                    break;
                case HeavyDatumType.Bool:
                    _ints.Add(!isNull && reader.GetBoolean(c) ? 1 : 0);
                    break;
                default:
                    _ints.Add(isNull ? 0 : reader.GetValue(c) switch
                    {
                        System.Numerics.BigInteger big => (long)big,
                        var v => Convert.ToInt64(v, CultureInfo.InvariantCulture),
                    });
                    break;
            }
        }

        public HeavyColumn Build() => new([.. _ints], [.. _reals], [.. _strings], [.. _nulls]);

        private static long EpochSeconds(DateTime value) => new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)).ToUnixTimeSeconds();
    }
}
