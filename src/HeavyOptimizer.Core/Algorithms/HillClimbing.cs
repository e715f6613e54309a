using System.Runtime.CompilerServices;
using HeavyOptimizer.Core.Fitness;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// HC: steepest ascent over a sampled swap neighbourhood (one member out, one outsider in), restarting from a
/// random portfolio after a number of steps without improvement.
/// </summary>
public sealed class HillClimbing() : SearchAlgorithm(
    "HC",
    "Hill Climbing",
    new Dictionary<string, double>
    {
        ["iterations"] = 200,
        ["neighbourhood"] = 10,
        ["restart_after"] = 10,
    })
{
    /// <inheritdoc />
    public override long Budget(AlgorithmParameters parameters) =>
        (long)parameters.Count("iterations") * parameters.Count("neighbourhood");

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var neighbourhood = context.Parameters.Count("neighbourhood");
        var restartAfter = context.Parameters.Count("restart_after");
        var state = new SwapState(context.Model, context.Size);
        var start = new int[context.Size];
        context.RandomPortfolio(start);
        context.Reset(state, start);
        var stale = 0;
        while (!context.ShouldStop)
        {
            var bestFitness = double.NegativeInfinity;
            int bestSlot = -1, bestIncoming = -1;
            for (var k = 0; k < neighbourhood && !context.ShouldStop; k++)
            {
                var slot = context.Rng.Next(state.Size);
                var incoming = context.RandomOutsider(state);
                var fitness = context.TrySwap(state, slot, incoming);
                if (fitness > bestFitness)
                {
                    (bestFitness, bestSlot, bestIncoming) = (fitness, slot, incoming);
                }
            }

            if (bestSlot >= 0 && bestFitness > state.Fitness)
            {
                state.Commit(bestSlot, bestIncoming, bestFitness);
                context.Offer(state.Members, state.Fitness);
                stale = 0;
            }
            else if (++stale >= restartAfter && !context.ShouldStop)
            {
                context.RandomPortfolio(start);
                context.Reset(state, start);
                stale = 0;
            }
        }
    }
}
