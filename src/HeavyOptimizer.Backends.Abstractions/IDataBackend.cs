using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Backends;

/// <summary>
/// A data backend: a store of strategy datasets and an engine that computes on them. Datasets are keyed by the
/// SHA-256 of the CSV's bytes, so ingesting the same file twice (or two copies of it, or concurrently) keeps one copy.
/// Every backend validates its input with the same reader (SPEC section 1), so bad input fails the same way.
/// </summary>
public interface IDataBackend : IAsyncDisposable
{
    /// <summary>Short name recorded in results: core, parquet, heavydb.</summary>
    string Name { get; }

    /// <summary>Stores the CSV at <paramref name="csvPath"/> unless a dataset with its fingerprint is already stored.</summary>
    /// <exception cref="DatasetException">The file is not a valid strategy CSV; nothing is stored.</exception>
    /// <exception cref="BackendException">The backend cannot be reached or written; nothing partial is left.</exception>
    Task<StoredDataset> IngestAsync(string csvPath, CancellationToken cancellation = default);

    /// <summary>Reads a stored dataset back: names, dates and values exactly as ingested.</summary>
    /// <exception cref="BackendException">Unknown fingerprint, unreadable store.</exception>
    Task<Dataset> LoadAsync(string fingerprint, CancellationToken cancellation = default);

    /// <summary>Per-strategy metrics (SPEC section 2) computed by the backend's own engine, in input order.</summary>
    Task<SeriesMetrics[]> ComputeMetricsAsync(string fingerprint, CancellationToken cancellation = default);

    /// <summary>What is stored under <paramref name="fingerprint"/>, or null.</summary>
    Task<StoredDataset?> DescribeAsync(string fingerprint, CancellationToken cancellation = default);

    /// <summary>Every stored dataset.</summary>
    Task<IReadOnlyList<StoredDataset>> ListAsync(CancellationToken cancellation = default);

    /// <summary>Removes a dataset; false when there was none.</summary>
    Task<bool> DropAsync(string fingerprint, CancellationToken cancellation = default);

    /// <summary>Whether the backend answers, and how fast; never throws.</summary>
    Task<BackendHealth> HealthAsync(CancellationToken cancellation = default);
}

/// <summary>A stored dataset.</summary>
/// <param name="Backend">Backend name.</param>
/// <param name="Fingerprint">SHA-256 of the source CSV's bytes (lower-case hex).</param>
/// <param name="Source">Path the dataset was ingested from.</param>
/// <param name="Strategies">Strategy count.</param>
/// <param name="Rows">Row count.</param>
/// <param name="FirstDate">First row's date.</param>
/// <param name="LastDate">Last row's date.</param>
/// <param name="EmptyCells">Empty cells read as 0 at ingest.</param>
/// <param name="Location">Where the backend keeps it (a file, a table).</param>
/// <param name="IngestedAt">When it was stored.</param>
public sealed record StoredDataset(
    string Backend, string Fingerprint, string Source, int Strategies, int Rows, DateOnly FirstDate, DateOnly LastDate,
    long EmptyCells, string Location, DateTimeOffset IngestedAt);

/// <summary>A backend's answer to a health probe.</summary>
/// <param name="Backend">Backend name.</param>
/// <param name="Healthy">Whether it answered correctly.</param>
/// <param name="Detail">Version or engine on success, the reason on failure.</param>
/// <param name="Latency">Time the probe took.</param>
public sealed record BackendHealth(string Backend, bool Healthy, string Detail, TimeSpan Latency);

/// <summary>A backend failed: unreachable, unknown dataset, unreadable store. The message says which backend and why.</summary>
public class BackendException : Exception
{
    /// <summary>Creates the error.</summary>
    public BackendException(string backend, string message, Exception? inner = null)
        : base($"{backend} backend: {message}", inner) => Backend = backend;

    /// <summary>The backend that failed.</summary>
    public string Backend { get; }
}
