using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>Strategies ranked by their own fitness as one-strategy series, for biased proposals and heuristics.</summary>
internal static class CandidateList
{
    /// <summary>Each strategy's base metric as a one-strategy portfolio.</summary>
    public static double[] OwnFitness(SearchContext context)
    {
        var own = new double[context.Universe];
        for (var i = 0; i < own.Length; i++)
        {
            own[i] = context.Model.BaseMetric(SeriesStats.Of(context.Model.Matrix.Column(i)));
        }

        return own;
    }

    /// <summary>The best <paramref name="share"/> of strategies by own fitness, at least twice the portfolio size.</summary>
    public static int[] Best(SearchContext context, double share)
    {
        var own = OwnFitness(context);
        var order = Enumerable.Range(0, own.Length).ToArray();
        Array.Sort(own.Select(v => -v).ToArray(), order);
        var count = Math.Clamp((int)(share * own.Length), Math.Min(own.Length, 2 * context.Size), own.Length);
        return order[..count];
    }
}
