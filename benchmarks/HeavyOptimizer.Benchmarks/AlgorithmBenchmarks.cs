using BenchmarkDotNet.Attributes;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Optimization;

namespace HeavyOptimizer.Benchmarks;

/// <summary>Each algorithm alone on one thread for a fixed budget over sensex_2500 at N = 35 (reported per evaluation).</summary>
public class AlgorithmBenchmarks
{
    private const int Budget = 20_000;
    private Dataset _dataset = null!;

    [ParamsSource(nameof(Codes))]
    public string Algorithm { get; set; } = "GA";

    public static IEnumerable<string> Codes => SearchAlgorithms.All.Select(a => a.Code);

    [GlobalSetup]
    public void Setup() => _dataset = CsvDatasetReader.Read(Inputs.Sensex());

    [Benchmark(OperationsPerInvoke = Budget)]
    public double Search()
    {
        var request = new OptimizationRequest
        {
            Algorithms = SearchAlgorithms.Parse(Algorithm),
            MaxEvaluations = Budget,
            Parallelism = 1,
            Fitness = FitnessOptions.Default,
        };
        return Optimizer.Run(_dataset, request).Best.Fitness;
    }
}
