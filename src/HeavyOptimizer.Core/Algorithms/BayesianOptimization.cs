using System.Runtime.CompilerServices;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// BO as a tree-structured Parzen estimator over strategy inclusion: after random initial points, the evaluated
/// portfolios are split into the best gamma share and the rest; each strategy gets an inclusion density in each
/// group (l and g, smoothed by the base rate N/M), candidates are drawn from l, and the one maximising
/// sum log(l/g) over its members (expected improvement under TPE) is evaluated.
/// </summary>
public sealed class BayesianOptimization() : SearchAlgorithm(
    "BO",
    "Bayesian Optimization",
    new Dictionary<string, double>
    {
        ["initial_points"] = 10,
        ["calls"] = 50,
        ["gamma"] = 0.25,
        ["candidates"] = 24,
        ["prior_weight"] = 1,
    })
{
    /// <inheritdoc />
    public override long Budget(AlgorithmParameters parameters) => parameters.Count("calls");

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var initial = p.Count("initial_points", 2);
        var gamma = Math.Clamp(p["gamma"], 0.01, 0.99);
        var candidateCount = p.Count("candidates");
        var prior = p["prior_weight"];
        var universe = context.Universe;
        var baseRate = (double)context.Size / universe;
        // Observations sorted best first; good/bad hold how often each strategy appears in the first goodCount of
        // them and in the rest. Both are kept up to date per call (O(N)), not recounted (O(calls x N)).
        var observations = new List<(int[] Members, double Fitness)>();
        var goodCount = 0;
        var good = new double[universe];
        var bad = new double[universe];
        var density = new double[universe];
        var sampler = new WeightedSampler(universe);
        var candidate = new int[context.Size];
        var chosen = new int[context.Size];
        void Observe(int[] members, double fitness)
        {
            var at = observations.FindIndex(o => o.Fitness < fitness);
            at = at < 0 ? observations.Count : at;
            observations.Insert(at, (members, fitness));
            if (at < goodCount)
            {
                Count(members, good, 1);
                Count(observations[goodCount].Members, good, -1);
                Count(observations[goodCount].Members, bad, 1);
            }
            else
            {
                Count(members, bad, 1);
            }

            var target = Math.Max(1, (int)Math.Ceiling(gamma * observations.Count));
            for (; goodCount < target; goodCount++)
            {
                Count(observations[goodCount].Members, bad, -1);
                Count(observations[goodCount].Members, good, 1);
            }
        }

        while (!context.ShouldStop)
        {
            if (observations.Count < initial)
            {
                context.RandomPortfolio(candidate);
                Observe((int[])candidate.Clone(), context.Evaluate(candidate));
                continue;
            }

            var badCount = observations.Count - goodCount;
            for (var s = 0; s < universe; s++)
            {
                density[s] = (good[s] + prior * baseRate) / (goodCount + prior);
            }

            sampler.Load(density);
            var bestScore = double.NegativeInfinity;
            for (var c = 0; c < candidateCount; c++)
            {
                sampler.Sample(candidate, context.Rng);
                var score = 0.0;
                foreach (var s in candidate)
                {
                    var g = (bad[s] + prior * baseRate) / (badCount + prior);
                    score += Math.Log(density[s] / g);
                }

                if (score > bestScore)
                {
                    bestScore = score;
                    candidate.CopyTo(chosen, 0);
                }
            }

            Observe((int[])chosen.Clone(), context.Evaluate(chosen));
        }
    }

    private static void Count(int[] members, double[] counts, int delta)
    {
        foreach (var s in members)
        {
            counts[s] += delta;
        }
    }
}
