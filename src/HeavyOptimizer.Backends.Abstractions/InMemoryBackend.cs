using System.Collections.Concurrent;
using System.Diagnostics;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Optimization;

namespace HeavyOptimizer.Backends;

/// <summary>
/// The reference backend ("core"): datasets parsed by the engine's reader and kept in this process's memory, metrics
/// by the engine itself. Nothing survives the process.
/// </summary>
public sealed class InMemoryBackend : IDataBackend
{
    private readonly ConcurrentDictionary<string, (Dataset Data, StoredDataset Info)> _datasets = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public string Name => "core";

    /// <inheritdoc />
    public async Task<StoredDataset> IngestAsync(string csvPath, CancellationToken cancellation = default)
    {
        var dataset = CsvDatasetReader.Read(csvPath);
        using var held = await DatasetLocks.AcquireAsync($"core:{GetHashCode()}:{dataset.Fingerprint}", cancellation).ConfigureAwait(false);
        return _datasets.GetOrAdd(dataset.Fingerprint, _ => (dataset, Describe(Name, dataset, "memory"))).Info;
    }

    /// <inheritdoc />
    public Task<Dataset> LoadAsync(string fingerprint, CancellationToken cancellation = default) =>
        Task.FromResult(Get(fingerprint).Data);

    /// <inheritdoc />
    public Task<SeriesMetrics[]> ComputeMetricsAsync(string fingerprint, CancellationToken cancellation = default) =>
        Task.FromResult(Optimizer.StrategyMetrics(Get(fingerprint).Data.Matrix));

    /// <inheritdoc />
    public Task<StoredDataset?> DescribeAsync(string fingerprint, CancellationToken cancellation = default) =>
        Task.FromResult(_datasets.TryGetValue(fingerprint, out var entry) ? entry.Info : null);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredDataset>> ListAsync(CancellationToken cancellation = default) =>
        Task.FromResult<IReadOnlyList<StoredDataset>>(_datasets.Values.Select(v => v.Info).ToList());

    /// <inheritdoc />
    public Task<bool> DropAsync(string fingerprint, CancellationToken cancellation = default) =>
        Task.FromResult(_datasets.TryRemove(fingerprint, out _));

    /// <inheritdoc />
    public Task<BackendHealth> HealthAsync(CancellationToken cancellation = default) =>
        Task.FromResult(new BackendHealth(Name, true, $"in-process, {_datasets.Count} dataset(s)", TimeSpan.Zero));

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The description of a parsed dataset as stored at <paramref name="location"/>.</summary>
    public static StoredDataset Describe(string backend, Dataset dataset, string location)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var m = dataset.Matrix;
        return new StoredDataset(backend, dataset.Fingerprint, Path.GetFullPath(dataset.Source), m.Count, m.Rows,
            m.Dates[0], m.Dates[^1], dataset.EmptyCells, location, DateTimeOffset.UtcNow);
    }

    /// <summary>Times <paramref name="probe"/> and turns its outcome into a health report.</summary>
    public static async Task<BackendHealth> ProbeAsync(string backend, Func<Task<string>> probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var clock = Stopwatch.StartNew();
        try
        {
            return new BackendHealth(backend, true, await probe().ConfigureAwait(false), clock.Elapsed);
        }
        catch (Exception e)
        {
            return new BackendHealth(backend, false, e.Message, clock.Elapsed);
        }
    }

    private (Dataset Data, StoredDataset Info) Get(string fingerprint) =>
        _datasets.TryGetValue(fingerprint, out var entry)
            ? entry
            : throw new BackendException(Name, $"no dataset with fingerprint {fingerprint}");
}
