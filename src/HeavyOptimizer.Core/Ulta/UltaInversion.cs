using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Ulta;

/// <summary>Options of the ULTA inversion (SPEC section 5). The gates are off unless <see cref="ApplyGates"/> is set.</summary>
public sealed record UltaOptions
{
    /// <summary>Whether the extra gates below must all hold for a strategy to be inverted; default false.</summary>
    public bool ApplyGates { get; init; }

    /// <summary>Gate: ROI below this; default 0.</summary>
    public double RoiThreshold { get; init; }

    /// <summary>Gate: at least this many negative rows; default 10.</summary>
    public int MinNegativeDays { get; init; } = 10;

    /// <summary>Gate: at least this share of rows negative; default 0.6.</summary>
    public double NegativeDayPercentage { get; init; } = 0.6;
}

/// <summary>One inverted strategy, before and after.</summary>
public sealed record InvertedStrategy(
    string Original, string Inverted, double OriginalRoi, double InvertedRoi,
    double OriginalDrawdown, double InvertedDrawdown, double OriginalRatio, double InvertedRatio);

/// <summary>ULTA: replaces a losing strategy by its negation, named <c>&lt;name&gt;_inv</c>, when that scores better.</summary>
public static class UltaInversion
{
    /// <summary>ROI / |min r_t|, +infinity when the minimum is 0.</summary>
    public static double Ratio(ReadOnlySpan<double> series, bool negated = false)
    {
        var sum = 0.0;
        var min = double.PositiveInfinity;
        foreach (var v in series)
        {
            var r = negated ? -v : v;
            sum += r;
            min = Math.Min(min, r);
        }

        return min == 0 ? double.PositiveInfinity : sum / Math.Abs(min);
    }

    /// <summary>Returns the matrix with qualifying strategies inverted (the input is not changed) and what was inverted.</summary>
    public static (StrategyMatrix Matrix, IReadOnlyList<InvertedStrategy> Inverted) Apply(StrategyMatrix matrix, UltaOptions options)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(options);
        var values = matrix.Values.ToArray();
        var names = matrix.Names.ToArray();
        var inverted = new List<InvertedStrategy>();
        for (var i = 0; i < matrix.Count; i++)
        {
            var column = matrix.Column(i);
            var ratio = Ratio(column);
            if (!(ratio < 0) || !PassesGates(column, options))
            {
                continue;
            }

            var invertedRatio = Ratio(column, negated: true);
            if (!(invertedRatio > ratio))
            {
                continue;
            }

            var target = values.AsSpan(i * matrix.Rows, matrix.Rows);
            for (var t = 0; t < target.Length; t++)
            {
                target[t] = -target[t];
            }

            names[i] = matrix.Names[i] + "_inv";
            var before = SeriesStats.Of(column);
            var after = SeriesStats.Of(target);
            inverted.Add(new InvertedStrategy(matrix.Names[i], names[i], before.Sum, after.Sum,
                before.MaxDrawdown, after.MaxDrawdown, ratio, invertedRatio));
        }

        return (matrix.WithColumns(names, values), inverted);
    }

    private static bool PassesGates(ReadOnlySpan<double> column, UltaOptions options)
    {
        if (!options.ApplyGates)
        {
            return true;
        }

        var stats = SeriesStats.Of(column);
        return stats.Sum < options.RoiThreshold
            && stats.Losses >= options.MinNegativeDays
            && (double)stats.Losses / column.Length >= options.NegativeDayPercentage;
    }
}
