using System.Runtime.CompilerServices;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// DE best/1/bin on subsets: the mutant is the best portfolio moved by F times the difference of two others
/// (each strategy of r1 \ r2 enters the best with probability F, displacing members r1 lacks), and binomial
/// crossover with rate CR mixes mutant and target; the trial replaces the target when it is no worse.
/// </summary>
public sealed class DifferentialEvolution() : SearchAlgorithm(
    "DE",
    "Differential Evolution",
    new Dictionary<string, double>
    {
        ["population"] = 30,
        ["f"] = 0.8,
        ["cr"] = 0.7,
        ["generations"] = 50,
    })
{
    /// <inheritdoc />
    public override long Budget(AlgorithmParameters parameters) =>
        (long)parameters.Count("population", 4) * parameters.Count("generations");

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var size = p.Count("population", 4);
        var f = p["f"];
        var cr = p["cr"];
        var rng = context.Rng;
        var scratch = new SubsetScratch(context.Universe);
        var population = new Population(context, size);
        var mutant = new int[context.Size];
        var trial = new int[context.Size];
        var inR2 = new bool[context.Universe];
        var inMutant = new bool[context.Universe];
        while (!context.ShouldStop)
        {
            var best = population.BestIndex();
            for (var i = 0; i < size && !context.ShouldStop; i++)
            {
                int r1, r2;
                do
                {
                    r1 = rng.Next(size);
                }
                while (r1 == i);
                do
                {
                    r2 = rng.Next(size);
                }
                while (r2 == i || r2 == r1);

                Mutant(population.Members[best], population.Members[r1], population.Members[r2], mutant, f, rng, inR2, inMutant);
                scratch.Cross(population.Members[i], mutant, trial, rng, cr, forceOneFromB: true);
                if (trial.AsSpan().SequenceEqual(population.Members[i]))
                {
                    SubsetScratch.Mutate(trial, context);
                }

                var fitness = context.Evaluate(trial);
                if (fitness >= population.Fitness[i])
                {
                    trial.CopyTo(population.Members[i], 0);
                    population.Fitness[i] = fitness;
                }
            }
        }
    }

    private static void Mutant(int[] best, int[] r1, int[] r2, int[] mutant, double f, Rng rng, bool[] inR2, bool[] inMutant)
    {
        best.CopyTo(mutant, 0);
        foreach (var s in r2)
        {
            inR2[s] = true;
        }

        foreach (var s in mutant)
        {
            inMutant[s] = true;
        }

        foreach (var s in r1)
        {
            if (inR2[s] || inMutant[s] || rng.NextDouble() >= f)
            {
                continue;
            }

            // Displace a member of the best that r1 does not hold (the direction r2 -> r1 points away from it).
            var start = rng.Next(mutant.Length);
            for (var k = 0; k < mutant.Length; k++)
            {
                var slot = (start + k) % mutant.Length;
                if (Array.IndexOf(r1, mutant[slot]) < 0)
                {
                    inMutant[mutant[slot]] = false;
                    mutant[slot] = s;
                    inMutant[s] = true;
                    break;
                }
            }
        }

        foreach (var s in r2)
        {
            inR2[s] = false;
        }

        foreach (var s in mutant)
        {
            inMutant[s] = false;
        }
    }
}
