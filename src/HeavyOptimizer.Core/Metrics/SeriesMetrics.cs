namespace HeavyOptimizer.Core.Metrics;

/// <summary>The per-series figures of SPEC section 2, for one strategy or one portfolio series.</summary>
/// <param name="Roi">Sum of returns.</param>
/// <param name="MaxDrawdown">Largest fall of the equity curve from its running peak; the first equity value is the first peak.</param>
/// <param name="WinPercentage">Share of rows with a positive return, 0..1.</param>
/// <param name="ProfitFactor">Sum of gains over the absolute sum of losses; +infinity without losses.</param>
/// <param name="Expectancy">w * average gain - (1 - w) * average loss, w the win percentage.</param>
/// <param name="Sharpe">Annualised return over annualised population volatility; 0 for a constant series.</param>
/// <param name="Sortino">Annualised return over annualised population volatility of the losses; 0 without a loss or with identical losses.</param>
/// <param name="AnnualizedReturn">ROI * periods per year / rows.</param>
public readonly record struct SeriesMetrics(
    double Roi,
    double MaxDrawdown,
    double WinPercentage,
    double ProfitFactor,
    double Expectancy,
    double Sharpe,
    double Sortino,
    double AnnualizedReturn)
{
    /// <summary>Trading periods per year used for annualisation unless stated otherwise.</summary>
    public const double DefaultPeriodsPerYear = 252;

    /// <summary>Computes every figure of <paramref name="returns"/> (at least one row).</summary>
    public static SeriesMetrics Compute(ReadOnlySpan<double> returns, double periodsPerYear = DefaultPeriodsPerYear)
    {
        if (returns.IsEmpty)
        {
            throw new ArgumentException("a series needs at least one row", nameof(returns));
        }

        var stats = SeriesStats.Of(returns);
        var std = PopulationStd(returns, stats.Sum / returns.Length);
        var lossStd = stats.Losses > 0 ? LossStd(returns, stats.LossSum / stats.Losses) : 0;
        return FromStats(stats, returns.Length, std, lossStd, periodsPerYear);
    }

    /// <summary>
    /// The section-2 figures from a series' statistics and its population standard deviations (all rows, and the
    /// negative rows only); backends that compute those sums in their own engines finish with this.
    /// </summary>
    public static SeriesMetrics FromStats(in SeriesStats stats, int rows, double std, double lossStd, double periodsPerYear = DefaultPeriodsPerYear)
    {
        var annualized = stats.Sum * periodsPerYear / rows;
        var sharpe = std > 0 ? annualized / (std * Math.Sqrt(periodsPerYear)) : 0;
        var sortino = lossStd > 0 ? annualized / (lossStd * Math.Sqrt(periodsPerYear)) : 0;
        return new SeriesMetrics(
            stats.Sum,
            stats.MaxDrawdown,
            stats.WinPercentage(rows),
            stats.Losses == 0 ? double.PositiveInfinity : stats.GainSum / Math.Abs(stats.LossSum),
            stats.Expectancy(rows),
            sharpe,
            sortino,
            annualized);
    }

    /// <summary>|a - b| relative to the larger magnitude (absolute below 1); 0 for equal values, infinities included.</summary>
    public static double RelativeDifference(double a, double b) =>
        a.Equals(b) ? 0 : Math.Abs(a - b) / Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));

    /// <summary>The largest <see cref="RelativeDifference"/> over the eight figures of two series.</summary>
    public static double MaxRelativeDifference(in SeriesMetrics a, in SeriesMetrics b) => Math.Max(
        Math.Max(Math.Max(RelativeDifference(a.Roi, b.Roi), RelativeDifference(a.MaxDrawdown, b.MaxDrawdown)),
                 Math.Max(RelativeDifference(a.WinPercentage, b.WinPercentage), RelativeDifference(a.ProfitFactor, b.ProfitFactor))),
        Math.Max(Math.Max(RelativeDifference(a.Expectancy, b.Expectancy), RelativeDifference(a.Sharpe, b.Sharpe)),
                 Math.Max(RelativeDifference(a.Sortino, b.Sortino), RelativeDifference(a.AnnualizedReturn, b.AnnualizedReturn))));

    private static double PopulationStd(ReadOnlySpan<double> values, double mean)
    {
        var sum = 0.0;
        foreach (var v in values)
        {
            var d = v - mean;
            sum += d * d;
        }

        return Math.Sqrt(sum / values.Length);
    }

    private static double LossStd(ReadOnlySpan<double> values, double lossMean)
    {
        var sum = 0.0;
        var n = 0;
        foreach (var v in values)
        {
            if (v < 0)
            {
                var d = v - lossMean;
                sum += d * d;
                n++;
            }
        }

        return Math.Sqrt(sum / n);
    }
}
