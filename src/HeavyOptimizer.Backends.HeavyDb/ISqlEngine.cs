using HeavyOptimizer.Backends.HeavyDb.Thrift;

namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// Where the HeavyDB backend's SQL runs: a real HeavyDB server over Thrift, or the embedded engine that stands in for
/// it on machines without one. Results come back columnar in HeavyDB's own shape either way.
/// </summary>
internal interface ISqlEngine : IAsyncDisposable
{
    /// <summary>The SQL dialect of this engine.</summary>
    SqlDialect Dialect { get; }

    /// <summary>What this engine is, for health and results (never a secret).</summary>
    string Description { get; }

    /// <summary>Runs a statement without a result.</summary>
    Task ExecuteAsync(string sql, CancellationToken cancellation);

    /// <summary>Runs a query; the result is columnar.</summary>
    Task<HeavyQueryResult> QueryAsync(string sql, CancellationToken cancellation);

    /// <summary>Bulk-loads columns (in <paramref name="columnNames"/> order) into a table.</summary>
    Task LoadAsync(string table, IReadOnlyList<string> columnNames, IReadOnlyList<HeavyColumn> columns, CancellationToken cancellation);

    /// <summary>The server's version string.</summary>
    Task<string> VersionAsync(CancellationToken cancellation);
}
