namespace HeavyOptimizer.Core.Metrics;

/// <summary>
/// The one-pass sufficient statistics of a return series from which every fitness base metric follows.
/// The portfolio evaluator fills one per evaluation, so this is a plain struct with no allocation.
/// </summary>
public struct SeriesStats
{
    /// <summary>Sum of returns (ROI).</summary>
    public double Sum;

    /// <summary>Max drawdown, peaks taken from the first equity value on.</summary>
    public double MaxDrawdown;

    /// <summary>Sum of the positive returns.</summary>
    public double GainSum;

    /// <summary>Sum of the negative returns (a negative number or 0).</summary>
    public double LossSum;

    /// <summary>Rows with a positive return.</summary>
    public int Wins;

    /// <summary>Rows with a negative return.</summary>
    public int Losses;

    /// <summary>
    /// Computes the statistics of <paramref name="returns"/> (at least one row) the plain way, one row after another,
    /// as the legacy tool did: this is the reference the per-strategy metrics use.
    /// </summary>
    public static SeriesStats Of(ReadOnlySpan<double> returns)
    {
        SeriesStats s = default;
        var equity = 0.0;
        var peak = double.NegativeInfinity;
        foreach (var r in returns)
        {
            equity += r;
            peak = Math.Max(peak, equity);
            s.MaxDrawdown = Math.Max(s.MaxDrawdown, peak - equity);
            if (r > 0)
            {
                s.GainSum += r;
                s.Wins++;
            }
            else if (r < 0)
            {
                s.LossSum += r;
                s.Losses++;
            }
        }

        s.Sum = equity;
        return s;
    }

    /// <summary>Share of positive rows among <paramref name="rows"/>.</summary>
    public readonly double WinPercentage(int rows) => (double)Wins / rows;

    /// <summary>Expectancy over <paramref name="rows"/> rows (SPEC section 2).</summary>
    public readonly double Expectancy(int rows)
    {
        var w = WinPercentage(rows);
        var avgWin = Wins > 0 ? GainSum / Wins : 0;
        var avgLoss = Losses > 0 ? -LossSum / Losses : 0;
        return w * avgWin - (1 - w) * avgLoss;
    }
}
