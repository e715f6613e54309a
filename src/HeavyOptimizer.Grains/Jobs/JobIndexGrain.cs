using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Storage;
using Orleans.Concurrency;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>Lists jobs from their rows in the cluster store; any silo answers (a stateless worker), and a listing costs one indexed query.</summary>
[StatelessWorker]
public sealed class JobIndexGrain(ClusterStore store) : Grain, IJobIndexGrain
{
    /// <inheritdoc />
    public Task<IReadOnlyList<JobStatus>> List(DateTimeOffset from, DateTimeOffset to, JobState? state, int limit) =>
        store.ListJobsAsync(from, to, state, Math.Max(0, limit));
}
