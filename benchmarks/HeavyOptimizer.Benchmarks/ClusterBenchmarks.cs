using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Sampling;
using HeavyOptimizer.Grains.Jobs;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace HeavyOptimizer.Benchmarks;

/// <summary>
/// One job on a tiny dataset (60 x 20, size 10, 40 evaluations per algorithm): the job runner called directly (the
/// engine, the backend and the run output, no Orleans), the same job through the cluster (submit, route, run, persist,
/// record), the same job in dual-write, and 50 jobs submitted at once on one silo.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class ClusterBenchmarks
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "hopt-bench-cluster-" + Environment.ProcessId);
    private TestCluster _cluster = null!;
    private JobRunner _runner = null!;
    private JobSpec _spec = null!;
    private int _next;

    [GlobalSetup]
    public async Task Setup()
    {
        Directory.CreateDirectory(Root);
        var input = Path.Combine(Root, "tiny.csv");
        SampleGenerator.Write(input, 60, 20, 3);
        _spec = new JobSpec { InputPath = input, PortfolioSize = 10, MaxEvaluations = 40, Seed = 1 };
        _cluster = new TestClusterBuilder(1).AddSiloBuilderConfigurator<Silo>().Build();
        await _cluster.DeployAsync();
        var options = Backends();
        _runner = new JobRunner(new BackendProvider(Options.Create(options)), options);
        await Direct();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public Task Direct() => _runner.RunAsync($"direct-{_next++}", _spec, new Route("heavydb", null, 0, false), CancellationToken.None);

    [Benchmark]
    public async Task ClusterJob()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        await RunJob($"single-{_next++}");
    }

    [Benchmark]
    public async Task ClusterDualWriteJob()
    {
        await Phase(MigrationPhase.DualWrite);
        await RunJob($"dual-{_next++}");
    }

    /// <summary>50 jobs at once; jobs per second = 50 / the time reported.</summary>
    [Benchmark(OperationsPerInvoke = 50)]
    public async Task FiftyConcurrentJobs()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var batch = _next++;
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => RunJob($"burst-{batch}-{i}")));
    }

    private async Task Phase(MigrationPhase phase)
    {
        var controller = _cluster.GrainFactory.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
        if ((await controller.GetConfig()).Phase != phase)
        {
            await controller.SetPhase(phase, true, "benchmark", "benchmark phase");
        }
    }

    private async Task RunJob(string id)
    {
        var job = _cluster.GrainFactory.GetGrain<IJobGrain>(id);
        await job.Submit(_spec);
        while ((await job.GetStatus())!.IsFinished is false)
        {
            await Task.Delay(1);
        }
    }

    private static BackendHostOptions Backends() => new()
    {
        DataDirectory = Path.Combine(Root, "data"),
        OutputRoot = Path.Combine(Root, "output"),
        HeavyDbUrl = "embedded",
        Compute = "cpu",
    };

    private static readonly string Store = BenchStores.Connection(Root);

    private sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddMemoryGrainStorage("hopt").UseInMemoryReminderService().UseHeavyOptimizerStore(Microsoft.Data.Sqlite.SqliteFactory.Instance, Store).AddHeavyOptimizerGrains(o =>
        {
            var b = Backends();
            (o.DataDirectory, o.OutputRoot, o.HeavyDbUrl, o.Compute) = (b.DataDirectory + "-silo", b.OutputRoot, b.HeavyDbUrl, b.Compute);
            o.InputRoots.Add(Root);
        });
    }
}
