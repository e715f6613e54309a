using System.Runtime.CompilerServices;
namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// BO as a tree-structured Parzen estimator over strategy inclusion: after random initial points, the evaluated
/// portfolios are split into the best gamma share and the rest; each strategy gets an inclusion density in each
/// group (l and g, smoothed by the base rate N/M), candidates are drawn from l, and the one maximising
/// sum log(l/g) over its members (expected improvement under TPE) is evaluated.
/// </summary>
public sealed class BayesianOptimization : SearchAlgorithm
{
    /// <inheritdoc />
    public override string Code => "BO";

    /// <inheritdoc />
    public override string Name => "Bayesian Optimization";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double> Defaults { get; } = new Dictionary<string, double>
    {
        ["initial_points"] = 10,
        ["calls"] = 50,
        ["gamma"] = 0.25,
        ["candidates"] = 24,
        ["prior_weight"] = 1,
    };

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
        var observations = new List<(int[] Members, double Fitness)>();
        var good = new double[universe];
        var bad = new double[universe];
        var density = new double[universe];
        var sampler = new WeightedSampler(universe);
        var candidate = new int[context.Size];
        var chosen = new int[context.Size];
        while (!context.ShouldStop)
        {
            if (observations.Count < initial)
            {
                context.RandomPortfolio(candidate);
                observations.Add(((int[])candidate.Clone(), context.Evaluate(candidate)));
                continue;
            }

            observations.Sort((x, y) => y.Fitness.CompareTo(x.Fitness));
            var goodCount = Math.Max(1, (int)Math.Ceiling(gamma * observations.Count));
            var badCount = observations.Count - goodCount;
            Array.Clear(good);
            Array.Clear(bad);
            for (var o = 0; o < observations.Count; o++)
            {
                var counts = o < goodCount ? good : bad;
                foreach (var s in observations[o].Members)
                {
                    counts[s]++;
                }
            }

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
                    var l = density[s];
                    var g = (bad[s] + prior * baseRate) / (badCount + prior);
                    score += Math.Log(l / g);
                }

                if (score > bestScore)
                {
                    bestScore = score;
                    candidate.CopyTo(chosen, 0);
                }
            }

            observations.Add(((int[])chosen.Clone(), context.Evaluate(chosen)));
        }
    }
}
