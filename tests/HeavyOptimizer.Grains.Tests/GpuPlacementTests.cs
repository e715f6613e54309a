using HeavyOptimizer.Abstractions;
using Orleans.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>Two silos, of which only the first advertises gpu=true: every backend grain lands on it.</summary>
public sealed class GpuPlacementTests() : OwnCluster<GpuPlacementTests.Silo>(2, Root)
{
    private static int _silosConfigured;

    protected override Task PrepareAsync()
    {
        _store = TestStores.Sqlite(Root);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Backend_grains_go_to_the_silo_that_advertises_a_gpu()
    {
        var placements = await Task.WhenAll(new[] { "heavydb", "parquet", "a", "b", "c", "d", "e", "f" }
            .Select(key => Cluster.Client.GetGrain<IBackendGrain>(key).Placement()));

        Assert.All(placements, p => Assert.True(p.SiloHasGpu, $"{p.Backend} landed on {p.Silo}"));
        Assert.Single(placements.Select(p => p.Silo).Distinct());
        Assert.Equal(2, Cluster.Silos.Count);
    }

    [Fact]
    public async Task With_the_gpu_disabled_parquet_compute_goes_to_any_silo()
    {
        // gpu_enabled = false: jobs ask the CPU-only grain (key parquet@cpu); 32 such keys over two silos all landing on
        // the GPU silo by chance has odds of 2^-32.
        var placements = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Cluster.Client.GetGrain<IBackendGrain>($"parquet-{i}@cpu").Placement()));

        Assert.Contains(placements, p => !p.SiloHasGpu);
        Assert.Contains(placements, p => p.SiloHasGpu);
    }

    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"hopt-gpu-{Environment.ProcessId}");
    private static string _store = string.Empty;

    public sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            // The first silo the test cluster configures claims a GPU, the second does not.
            var gpu = Interlocked.Increment(ref _silosConfigured) % 2 == 1;
            silo.AddMemoryGrainStorage("hopt").UseInMemoryReminderService().UseHeavyOptimizerStore(Microsoft.Data.Sqlite.SqliteFactory.Instance, _store).AddHeavyOptimizerGrains()
                .UseSiloMetadata(new Dictionary<string, string> { ["gpu"] = gpu ? "true" : "false" });
        }
    }
}
