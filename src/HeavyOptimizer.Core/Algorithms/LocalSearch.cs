using System.Runtime.CompilerServices;
using HeavyOptimizer.Core.Fitness;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// The polish the winner of a run gets: iterated local search from its portfolio. First-improvement over the whole
/// swap neighbourhood (every member against every strategy of the candidate list, in a random order) to a local
/// optimum; then a perturbation of a few random swaps from the best optimum so far, and again. It keeps the best, so
/// more budget (evaluations or time) never ends worse. Deterministic for its seed under an evaluation budget.
/// </summary>
public static class LocalSearch
{
    /// <summary>Parameters: the candidate list's share of strategies, and the swaps of a perturbation (at least 2).</summary>
    public static readonly IReadOnlyDictionary<string, double> Defaults = new Dictionary<string, double>
    {
        ["candidate_share"] = 0.3,
        ["kick"] = 3,
    };

    /// <summary>Polishes <paramref name="start"/> until the context's budget is spent; the best is in the context.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(SearchContext context, ReadOnlySpan<int> start)
    {
        ArgumentNullException.ThrowIfNull(context);
        var pool = CandidateList.Best(context, context.Parameters["candidate_share"]);
        var kick = context.Parameters.Count("kick", 2);
        var state = new SwapState(context.Model, context.Size);
        context.Reset(state, start);
        if (context.Universe <= context.Size)
        {
            return; // every strategy is a member: there is no swap to make
        }

        var best = start.ToArray();
        var bestFitness = state.Fitness;
        var slots = Enumerable.Range(0, context.Size).ToArray();
        while (!context.ShouldStop)
        {
            Climb(context, state, pool, slots);
            if (state.Fitness > bestFitness)
            {
                bestFitness = state.Fitness;
                state.Members.CopyTo(best);
            }
            else if (!context.ShouldStop)
            {
                context.Reset(state, best);
            }

            for (var k = 0; k < kick && !context.ShouldStop; k++)
            {
                var slot = context.Rng.Next(state.Size);
                var incoming = Outsider(context, state, pool);
                state.Commit(slot, incoming, context.TrySwap(state, slot, incoming));
            }
        }
    }

    /// <summary>First-improvement ascent over every (member, candidate) swap until none improves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Climb(SearchContext context, SwapState state, int[] pool, int[] slots)
    {
        var improved = true;
        while (improved && !context.ShouldStop)
        {
            improved = false;
            Shuffle(context.Rng, slots);
            foreach (var slot in slots)
            {
                var offset = context.Rng.Next(pool.Length);
                for (var j = 0; j < pool.Length && !context.ShouldStop; j++)
                {
                    var incoming = pool[(offset + j) % pool.Length];
                    if (state.Contains(incoming))
                    {
                        continue;
                    }

                    var fitness = context.TrySwap(state, slot, incoming);
                    if (fitness > state.Fitness)
                    {
                        state.Commit(slot, incoming, fitness);
                        context.Offer(state.Members, fitness);
                        improved = true;
                        break;
                    }
                }
            }
        }
    }

    private static int Outsider(SearchContext context, SwapState state, int[] pool)
    {
        int s;
        do
        {
            s = pool[context.Rng.Next(pool.Length)];
        }
        while (state.Contains(s));
        return s;
    }

    private static void Shuffle(Rng rng, int[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
