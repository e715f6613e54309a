using System.Runtime.CompilerServices;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// GA: generational, tournament selection, uniform subset crossover (keep what both parents share, draw the rest
/// from either side), swap mutation and elitism.
/// </summary>
public sealed class GeneticAlgorithm() : SearchAlgorithm(
    "GA",
    "Genetic Algorithm",
    new Dictionary<string, double>
    {
        ["population"] = 30,
        ["generations"] = 50,
        ["tournament"] = 3,
        ["crossover_rate"] = 0.8,
        ["mutation_rate"] = 0.1,
        ["elitism"] = 0.1,
    })
{
    /// <inheritdoc />
    public override long Budget(AlgorithmParameters parameters) =>
        (long)parameters.Count("population", 2) * parameters.Count("generations");

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var size = p.Count("population", 2);
        var tournament = p.Count("tournament");
        var crossover = p["crossover_rate"];
        var mutation = p["mutation_rate"];
        var elites = Math.Min(size - 1, (int)Math.Round(p["elitism"] * size));
        var scratch = new SubsetScratch(context.Universe);
        var population = new Population(context, size);
        var next = new int[size][];
        var nextFitness = new double[size];
        for (var i = 0; i < size; i++)
        {
            next[i] = new int[context.Size];
        }

        var order = new int[size];
        while (!context.ShouldStop)
        {
            for (var i = 0; i < size; i++)
            {
                order[i] = i;
            }

            Array.Sort(order, (x, y) => population.Fitness[y].CompareTo(population.Fitness[x]));
            for (var e = 0; e < elites; e++)
            {
                population.Members[order[e]].CopyTo(next[e], 0);
                nextFitness[e] = population.Fitness[order[e]];
            }

            var filled = elites;
            for (; filled < size && !context.ShouldStop; filled++)
            {
                var a = population.Members[Tournament(population, tournament, context.Rng)];
                var child = next[filled];
                if (context.Rng.NextDouble() < crossover)
                {
                    var b = population.Members[Tournament(population, tournament, context.Rng)];
                    scratch.Cross(a, b, child, context.Rng, 0.5);
                }
                else
                {
                    a.CopyTo(child, 0);
                }

                if (context.Rng.NextDouble() < mutation)
                {
                    SubsetScratch.Mutate(child, context);
                }

                nextFitness[filled] = context.Evaluate(child);
            }

            if (filled < size)
            {
                break;
            }

            for (var i = 0; i < size; i++)
            {
                (population.Members[i], next[i]) = (next[i], population.Members[i]);
                population.Fitness[i] = nextFitness[i];
            }
        }
    }

    private static int Tournament(Population population, int rounds, Rng rng)
    {
        var best = rng.Next(population.Count);
        for (var r = 1; r < rounds; r++)
        {
            var challenger = rng.Next(population.Count);
            if (population.Fitness[challenger] > population.Fitness[best])
            {
                best = challenger;
            }
        }

        return best;
    }
}
