using System.Runtime.CompilerServices;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// ACO: each ant draws a portfolio with probability proportional to pheromone^alpha * heuristic^beta, the
/// heuristic being the rank of the strategy's own fitness; pheromone evaporates each iteration and every ant
/// deposits in proportion to its quality within the iteration, bounded (MAX-MIN) so no strategy is ruled out.
/// </summary>
public sealed class AntColony() : SearchAlgorithm(
    "ACO",
    "Ant Colony Optimization",
    new Dictionary<string, double>
    {
        ["ants"] = 20,
        ["iterations"] = 50,
        ["alpha"] = 1,
        ["beta"] = 2,
        ["evaporation"] = 0.5,
        ["deposit"] = 1.0,
    })
{
    private const double MinPheromone = 0.01;
    private const double MaxPheromone = 10;

    /// <inheritdoc />
    public override long Budget(AlgorithmParameters parameters) =>
        (long)parameters.Count("ants") * parameters.Count("iterations");

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var ants = p.Count("ants");
        var (alpha, beta, evaporation, deposit) = (p["alpha"], p["beta"], p["evaporation"], p["deposit"]);
        var heuristic = Heuristic(context);
        for (var i = 0; i < heuristic.Length; i++)
        {
            heuristic[i] = Math.Pow(heuristic[i], beta);
        }

        var pheromone = new double[context.Universe];
        Array.Fill(pheromone, 1.0);
        var weights = new double[context.Universe];
        var sampler = new WeightedSampler(context.Universe);
        var colony = new int[ants][];
        var fitness = new double[ants];
        for (var a = 0; a < ants; a++)
        {
            colony[a] = new int[context.Size];
        }

        while (!context.ShouldStop)
        {
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i] = (alpha == 1 ? pheromone[i] : Math.Pow(pheromone[i], alpha)) * heuristic[i];
            }

            sampler.Load(weights);
            var built = 0;
            for (; built < ants && !context.ShouldStop; built++)
            {
                sampler.Sample(colony[built], context.Rng);
                fitness[built] = context.Evaluate(colony[built]);
            }

            for (var i = 0; i < pheromone.Length; i++)
            {
                pheromone[i] *= 1 - evaporation;
            }

            var (low, high) = (fitness.AsSpan(0, built).ToArray().Min(), fitness.AsSpan(0, built).ToArray().Max());
            for (var a = 0; a < built; a++)
            {
                var quality = high > low ? (fitness[a] - low) / (high - low) : 1;
                foreach (var s in colony[a])
                {
                    pheromone[s] += deposit * quality;
                }
            }

            for (var i = 0; i < pheromone.Length; i++)
            {
                pheromone[i] = Math.Clamp(pheromone[i], MinPheromone, MaxPheromone);
            }
        }
    }

    /// <summary>Each strategy's own fitness as a one-member portfolio, mapped to its rank in (0, 1].</summary>
    private static double[] Heuristic(SearchContext context)
    {
        var n = context.Universe;
        var own = CandidateList.OwnFitness(context);

        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(own.ToArray(), order);
        var heuristic = new double[n];
        for (var rank = 0; rank < n; rank++)
        {
            heuristic[order[rank]] = (rank + 1.0) / n;
        }

        return heuristic;
    }
}
