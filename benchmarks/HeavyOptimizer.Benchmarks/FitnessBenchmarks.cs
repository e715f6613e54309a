using BenchmarkDotNet.Attributes;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Fitness;

namespace HeavyOptimizer.Benchmarks;

/// <summary>
/// Full and incremental (swap) fitness evaluations at N = 35 over sensex_2500 (T = 82), ratio metric with the
/// correlation penalty, on one core and on every core at once (one scorer per core, as the optimiser runs them).
/// Times are per evaluation.
/// </summary>
[MemoryDiagnoser]
public class FitnessBenchmarks
{
    private const int Batch = 4096;
    private Worker[] _workers = null!;

    [GlobalSetup]
    public void Setup()
    {
        var model = new FitnessModel(Inputs.Matrix(Inputs.Sensex()), FitnessOptions.Default);
        _workers = Enumerable.Range(0, Environment.ProcessorCount).Select(i => new Worker(model, (ulong)i)).ToArray();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public double FullEvaluation() => _workers[0].Full();

    [Benchmark(OperationsPerInvoke = Batch)]
    public double SwapEvaluation() => _workers[0].Swaps();

    /// <summary>
    /// Every core evaluating its own batches, Batch * Rounds evaluations in all, so the time per operation is the
    /// inverse of the machine's throughput.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch * Rounds)]
    public double FullEvaluationAllCores() => AllCores(w => w.Full());

    [Benchmark(OperationsPerInvoke = Batch * Rounds)]
    public double SwapEvaluationAllCores() => AllCores(w => w.Swaps());

    private const int Rounds = 16;

    private double AllCores(Func<Worker, double> work)
    {
        var results = new double[_workers.Length];
        Parallel.For(0, _workers.Length, i =>
        {
            for (var round = 0; round < Rounds / _workers.Length; round++)
            {
                results[i] += work(_workers[i]);
            }
        });
        return results.Sum();
    }

    /// <summary>One core's scorer, swap state and inputs.</summary>
    private sealed class Worker
    {
        private readonly PortfolioScorer _scorer;
        private readonly SwapState _state;
        private readonly int[][] _portfolios;
        private readonly (int Slot, int Incoming)[] _swaps = new (int, int)[Batch];

        public Worker(FitnessModel model, ulong seed)
        {
            _scorer = new PortfolioScorer(model);
            _portfolios = Inputs.Portfolios(model.Count, 35, Batch, seed);
            _state = new SwapState(model, 35);
            _state.Reset(_portfolios[0]);
            var rng = new Rng(seed + 100);
            for (var i = 0; i < Batch; i++)
            {
                int incoming;
                do
                {
                    incoming = rng.Next(model.Count);
                }
                while (_state.Contains(incoming));
                _swaps[i] = (rng.Next(35), incoming);
            }
        }

        public double Full()
        {
            var sum = 0.0;
            foreach (var p in _portfolios)
            {
                sum += _scorer.Evaluate(p);
            }

            return sum;
        }

        public double Swaps()
        {
            var sum = 0.0;
            foreach (var (slot, incoming) in _swaps)
            {
                sum += _state.TrySwap(slot, incoming);
            }

            return sum;
        }
    }
}
