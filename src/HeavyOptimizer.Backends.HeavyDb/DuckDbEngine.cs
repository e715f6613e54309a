using System.Data;
using System.Globalization;
using DuckDB.NET.Data;
using HeavyOptimizer.Backends.HeavyDb.Thrift;

namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// The embedded stand-in for a HeavyDB server: DuckDB in a file under the data directory, running the same SQL as a
/// real server would (dialect differences in <see cref="SqlDialect"/>). It is not HeavyDB; what it proves is that the
/// backend's SQL path computes the right numbers.
/// </summary>
internal sealed class DuckDbEngine : ISqlEngine
{
    private readonly DuckDBConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private DuckDbEngine(DuckDBConnection connection, string path)
    {
        _connection = connection;
        Description = $"embedded DuckDB standing in for HeavyDB ({path})";
    }

    public SqlDialect Dialect => SqlDialect.DuckDb;

    public string Description { get; }

    public static DuckDbEngine Open(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var connection = new DuckDBConnection($"Data Source={path}");
            connection.Open();
            return new DuckDbEngine(connection, path);
        }
        catch (Exception e) when (e is DuckDBException or IOException or UnauthorizedAccessException)
        {
            throw new BackendException("heavydb", $"embedded engine cannot open {path}: {e.Message}", e);
        }
    }

    public async Task ExecuteAsync(string sql, CancellationToken cancellation)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
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

    public async Task<HeavyQueryResult> QueryAsync(string sql, CancellationToken cancellation)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            using var command = _connection.CreateCommand();
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

    public async Task LoadAsync(string table, IReadOnlyList<string> columnNames, IReadOnlyList<HeavyColumn> columns, CancellationToken cancellation)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            using var appender = _connection.CreateAppender(table);
            var kinds = columns.Select(c => c.Strings.Length > 0 ? 's' : c.Reals.Length > 0 ? 'r' : 'i').ToArray();
            var types = ColumnTypes(table, columnNames);
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

    public Task<string> VersionAsync(CancellationToken cancellation) => Task.FromResult($"DuckDB {_connection.ServerVersion}");

    public ValueTask DisposeAsync()
    {
        _connection.Dispose();
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>DuckDB's type name of each column to load, so every value is appended as exactly that type.</summary>
    private string[] ColumnTypes(string table, IReadOnlyList<string> columnNames)
    {
        using var command = _connection.CreateCommand();
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
