using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Backends.Parquet;
using HeavyOptimizer.Core.Sampling;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace HeavyOptimizer.Benchmarks;

/// <summary>
/// Backend compute across silos: the Parquet metrics of 20 distinct 2,500 x 82 datasets asked for at once, as 20
/// concurrent jobs over distinct files do, on one silo and on two (in-process silos; every activation is collected
/// before each iteration, so each one computes afresh). Computations per second = 20 / the time reported.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class ComputeSpreadBenchmarks
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "hopt-bench-spread-" + Environment.ProcessId);
    private TestCluster _cluster = null!;
    private string[] _fingerprints = [];

    [Params(1, 2)]
    public int Silos { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        Directory.CreateDirectory(Root);
        var parquet = new ParquetBackend(new ParquetBackendOptions { DataDirectory = Path.Combine(Root, "data"), Compute = "cpu" });
        var fingerprints = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var csv = Path.Combine(Root, $"d{i}.csv");
            if (!File.Exists(csv))
            {
                SampleGenerator.Write(csv, 2_500, 82, (ulong)i + 1);
            }

            fingerprints.Add((await parquet.IngestAsync(csv)).Fingerprint);
        }

        _fingerprints = [.. fingerprints];
        _cluster = new TestClusterBuilder((short)Silos).AddSiloBuilderConfigurator<Silo>().Build();
        await _cluster.DeployAsync();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    [IterationSetup]
    public void Forget() =>
        _cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero).GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = 20)]
    public Task TwentyDatasetsAtOnce() =>
        Task.WhenAll(_fingerprints.Select(fp => _cluster.Client.GetGrain<IBackendGrain>(IBackendGrain.KeyFor("parquet", fp, gpu: true)).ComputeMetrics()));

    private static readonly string Store = BenchStores.Connection(Root);

    private sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddMemoryGrainStorage("hopt").UseInMemoryReminderService().UseHeavyOptimizerStore(Microsoft.Data.Sqlite.SqliteFactory.Instance, Store)
            .AddHeavyOptimizerGrains(o => (o.DataDirectory, o.Compute) = (Path.Combine(Root, "data"), "cpu"));
    }
}
