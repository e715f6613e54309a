using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace HeavyOptimizer.Benchmarks;

/// <summary>
/// What one job costs the cluster store (SQLite, the embedded default) when the store already holds
/// <see cref="JobsBefore"/> jobs of the same hour, outcomes and audit entries: its whole life in the store (insert,
/// enqueue, lease, Running, Completed, leave the queue, the controller's outcome). The cost must not grow with history.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 15, invocationCount: 200)]
public class StoreBenchmarks
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"hopt-bench-store-{Environment.ProcessId}");
    private ClusterStore _store = null!;
    private DateTimeOffset _hour;
    private int _next;

    [Params(0, 10_000)]
    public int JobsBefore { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        Directory.CreateDirectory(_root);
        _store = BenchStores.Sqlite(_root);
        _hour = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < JobsBefore; i++)
        {
            await LifeAsync($"history-{i}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark]
    public Task OneJobsLife() => LifeAsync($"bench-{_next++}");

    private async Task LifeAsync(string id)
    {
        var job = new JobStatus
        {
            JobId = id, State = JobState.Queued, Owner = "bench", SubmittedAt = _hour,
            Spec = new JobSpec { InputPath = "/data/input/sensex_2500.csv", PortfolioSize = 35, Seed = 1 },
        };
        var version = (await _store.SaveJobAsync(job, 0))!.Value;
        await _store.EnqueueAsync(id, "bench", _hour);
        await _store.LeaseAsync("silo-1", 1, TimeSpan.FromSeconds(30));
        version = (await _store.SaveJobAsync(job with { State = JobState.Running, Attempts = 1 }, version))!.Value;
        await _store.SaveJobAsync(job with { State = JobState.Completed, Attempts = 1, FinishedAt = _hour.AddSeconds(3) }, version);
        await _store.RemoveAsync(id);
        await _store.RecordOutcomeAsync("bench", new RecordedOutcome(new JobOutcome(id, "heavydb", true, 3, null, null, _hour), 1, true, false));
    }
}

/// <summary>Cluster stores for benchmarks: SQLite files with the schema made.</summary>
internal static class BenchStores
{
    /// <summary>A new SQLite store under <paramref name="directory"/> (made if missing), its tables created.</summary>
    public static string Connection(string directory)
    {
        Directory.CreateDirectory(directory);
        var connection = $"Data Source={Path.Combine(directory, $"store-{Guid.NewGuid():N}.db")}";
        new ClusterStore(SqliteFactory.Instance, connection).EnsureSchemaAsync().GetAwaiter().GetResult();
        return connection;
    }

    public static ClusterStore Sqlite(string directory) => new(SqliteFactory.Instance, Connection(directory));
}
