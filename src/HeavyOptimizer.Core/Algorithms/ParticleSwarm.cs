using System.Runtime.CompilerServices;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// PSO, set-based: a particle's next position is the N strategies with the highest velocity scores among its
/// current position (weight: inertia), its personal best (c1 * U(0,1)), the swarm's best (c2 * U(0,1)) and a few
/// random outsiders (inertia * U(0,1)), so inertia decays from exploring to exploiting over the run.
/// </summary>
public sealed class ParticleSwarm() : SearchAlgorithm(
    "PSO",
    "Particle Swarm Optimization",
    new Dictionary<string, double>
    {
        ["swarm"] = 25,
        ["iterations"] = 50,
        ["inertia_start"] = 0.9,
        ["inertia_end"] = 0.4,
        ["c1"] = 2.0,
        ["c2"] = 2.0,
    })
{
    /// <inheritdoc />
    public override long Budget(AlgorithmParameters parameters) =>
        (long)parameters.Count("swarm") * parameters.Count("iterations");

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var swarm = p.Count("swarm");
        var (w0, w1, c1, c2) = (p["inertia_start"], p["inertia_end"], p["c1"], p["c2"]);
        var positions = new Population(context, swarm);
        var personal = positions.Members.Select(m => (int[])m.Clone()).ToArray();
        var personalFitness = (double[])positions.Fitness.Clone();
        var global = (int[])personal[positions.BestIndex()].Clone();
        var globalFitness = personalFitness.Max();
        var score = new double[context.Universe];
        var candidates = new List<int>();
        var outsiders = Math.Max(1, context.Size / 5);
        while (!context.ShouldStop)
        {
            var inertia = w0 + (w1 - w0) * context.Fraction;
            for (var i = 0; i < swarm && !context.ShouldStop; i++)
            {
                candidates.Clear();
                Add(positions.Members[i], inertia, context.Rng, score, candidates);
                Add(personal[i], c1, context.Rng, score, candidates);
                Add(global, c2, context.Rng, score, candidates);
                for (var k = 0; k < outsiders; k++)
                {
                    Add([context.Rng.Next(context.Universe)], 2 * inertia, context.Rng, score, candidates);
                }

                candidates.Sort((x, y) => score[y].CompareTo(score[x]));
                var position = positions.Members[i];
                for (var k = 0; k < position.Length; k++)
                {
                    position[k] = candidates[k];
                }

                foreach (var s in candidates)
                {
                    score[s] = 0;
                }

                var fitness = context.Evaluate(position);
                positions.Fitness[i] = fitness;
                if (fitness > personalFitness[i])
                {
                    position.CopyTo(personal[i], 0);
                    personalFitness[i] = fitness;
                }

                if (fitness > globalFitness)
                {
                    position.CopyTo(global, 0);
                    globalFitness = fitness;
                }
            }
        }
    }

    /// <summary>Adds factor * U(0,1), drawn per strategy, to the velocity score of each of <paramref name="members"/>.</summary>
    private static void Add(ReadOnlySpan<int> members, double factor, Rng rng, double[] score, List<int> candidates)
    {
        foreach (var s in members)
        {
            if (score[s] == 0)
            {
                candidates.Add(s);
            }

            score[s] += factor * rng.NextDouble() + double.Epsilon;
        }
    }
}
