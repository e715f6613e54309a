using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>Lists jobs from their rows in the cluster store; any silo answers (a stateless worker), and a listing costs one indexed query.</summary>
[StatelessWorker]
public sealed class JobIndexGrain(ClusterStore store, IBackendProvider backends, ILocalSiloDetails silo) : Grain, IJobIndexGrain
{
    /// <inheritdoc />
    public Task<IReadOnlyList<JobStatus>> List(DateTimeOffset from, DateTimeOffset to, JobState? state, int limit) =>
        store.ListJobsAsync(from, to, state, Math.Max(0, limit));

    /// <inheritdoc />
    public async Task<ClusterProbe> Probe()
    {
        var metadata = ServiceProvider.GetService<ISiloMetadataCache>();
        var members = await GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
        var silos = members.Where(m => m.Status is SiloStatus.Active or SiloStatus.Joining or SiloStatus.ShuttingDown or SiloStatus.Stopping)
            .Select(m => new SiloHealth(m.SiloAddress.ToString(), m.Status.ToString().ToLowerInvariant(),
                metadata?.GetSiloMetadata(m.SiloAddress).Metadata.TryGetValue("gpu", out var gpu) == true && gpu == "true"))
            .ToList();
        var probes = await Task.WhenAll(new[] { "heavydb", "parquet" }.Select(ProbeAsync));
        return new ClusterProbe(silos, probes, silo.SiloAddress.ToString());
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DatasetCheck>> VerifyDatasets()
    {
        var checks = new List<DatasetCheck>();
        foreach (var name in new[] { "heavydb", "parquet" })
        {
            IReadOnlyList<HeavyOptimizer.Backends.StoredDataset> stored;
            HeavyOptimizer.Backends.IDataBackend backend;
            try
            {
                backend = await backends.GetAsync(name, CancellationToken.None);
                stored = await backend.ListAsync();
            }
            catch (Exception e)
            {
                checks.Add(new DatasetCheck(name, "-", "-", false, $"cannot list the backend's datasets: {Core.Messages.OneLine(e.Message)}"));
                continue;
            }

            foreach (var dataset in stored)
            {
                try
                {
                    var read = await backend.LoadAsync(dataset.Fingerprint);
                    checks.Add(new DatasetCheck(name, dataset.Fingerprint, dataset.Source, true, $"{read.Matrix.Count} strategies x {read.Matrix.Rows} days read back"));
                }
                catch (Exception e)
                {
                    checks.Add(new DatasetCheck(name, dataset.Fingerprint, dataset.Source, false, Core.Messages.OneLine(e.Message)));
                }
            }
        }

        return checks;
    }

    private async Task<BackendProbe> ProbeAsync(string name)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            var health = await (await backends.GetAsync(name, limit.Token)).HealthAsync(limit.Token);
            return new BackendProbe(name, health.Healthy, health.Latency.TotalMilliseconds, health.Detail);
        }
        catch (Exception e)
        {
            return new BackendProbe(name, false, 0, Core.Messages.OneLine(e.Message));
        }
    }
}
