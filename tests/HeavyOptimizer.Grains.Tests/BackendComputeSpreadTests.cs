using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Backends.Parquet;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Grains.Backends;
using Orleans.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>
/// Three silos sharing one data directory; the first (the test cluster's primary) advertises no GPU, the other two do.
/// Metrics of twenty datasets are computed through their backend grains: both GPU silos serve them and the CPU-only silo
/// none; with both GPU silos gone, the CPU-only silo serves them all.
/// </summary>
public sealed class BackendComputeSpreadTests() : OwnCluster<BackendComputeSpreadTests.Silo>(3, Root)
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"hopt-spread-{Environment.ProcessId}");
    private static string _store = string.Empty;
    private static int _silosConfigured;

    protected override Task PrepareAsync()
    {
        _store = TestStores.Sqlite(Root);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Computations_spread_over_every_gpu_silo_and_fall_back_to_the_cpu_silo_when_they_are_gone()
    {
        var parquet = new ParquetBackend(new ParquetBackendOptions { DataDirectory = Path.Combine(Root, "data"), Compute = "cpu" });
        var fingerprints = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var csv = Path.Combine(Root, $"d{i}.csv");
            File.WriteAllText(csv, Some.Csv(Some.RandomMatrix(12, 10, (ulong)i + 1)));
            fingerprints.Add((await parquet.IngestAsync(csv)).Fingerprint);
        }

        async Task<BackendPlacement[]> ComputeAll() => await Task.WhenAll(fingerprints.Select(async fp =>
        {
            var grain = Cluster.Client.GetGrain<IBackendGrain>(IBackendGrain.KeyFor("parquet", fp, gpu: true));
            Assert.Equal(12 * BackendGrain.Fields, (await grain.ComputeMetrics()).Length);
            return await grain.Placement();
        }));

        var withGpus = await ComputeAll();
        Assert.All(withGpus, p => Assert.True(p.SiloHasGpu, $"{p.Backend} computed on {p.Silo}"));
        Assert.Equal(2, withGpus.Select(p => p.Silo).Distinct().Count());

        foreach (var gpuSilo in Cluster.Silos.Where(s => withGpus.Any(p => p.Silo == s.SiloAddress.ToString())).ToList())
        {
            await Cluster.StopSiloAsync(gpuSilo);
        }

        var withoutGpus = await ComputeAll();
        Assert.All(withoutGpus, p => Assert.False(p.SiloHasGpu, $"{p.Backend} computed on {p.Silo}"));
        Assert.Single(withoutGpus.Select(p => p.Silo).Distinct());
    }

    public sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            // The primary is configured first and claims no GPU; the two others do.
            var gpu = Interlocked.Increment(ref _silosConfigured) > 1;
            silo.AddMemoryGrainStorage("hopt").UseInMemoryReminderService().UseHeavyOptimizerStore(Microsoft.Data.Sqlite.SqliteFactory.Instance, _store)
                .AddHeavyOptimizerGrains(o => (o.DataDirectory, o.Compute) = (Path.Combine(Root, "data"), "cpu"))
                .UseSiloMetadata(new Dictionary<string, string> { ["gpu"] = gpu ? "true" : "false" });
        }
    }
}
