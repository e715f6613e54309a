namespace HeavyOptimizer.Core.Fitness;

/// <summary>The base metric of a portfolio's fitness (SPEC section 4).</summary>
public enum FitnessMetric
{
    /// <summary>ROI / max drawdown, with the legacy rules when there is no drawdown.</summary>
    Ratio,

    /// <summary>Sum of returns.</summary>
    Roi,

    /// <summary>Minus the max drawdown.</summary>
    LessMaxDd,

    /// <summary>Share of positive rows.</summary>
    WinPercentage,

    /// <summary>Gains over losses, 1.0 when there is no loss but some gain, 0 when neither.</summary>
    ProfitFactor,

    /// <summary>Expectancy per row.</summary>
    Expectancy,
}

/// <summary>Names of the metrics as operators write them.</summary>
public static class FitnessMetrics
{
    private static readonly (FitnessMetric Metric, string Name)[] Table =
    [
        (FitnessMetric.Ratio, "ratio"),
        (FitnessMetric.Roi, "roi"),
        (FitnessMetric.LessMaxDd, "less max dd"),
        (FitnessMetric.WinPercentage, "win percentage"),
        (FitnessMetric.ProfitFactor, "profit factor"),
        (FitnessMetric.Expectancy, "expectancy"),
    ];

    /// <summary>Every metric's name, as the CLI and the summary write it.</summary>
    public static IEnumerable<string> Names => Table.Select(e => e.Name);

    /// <summary>The operators' name of <paramref name="metric"/>.</summary>
    public static string Name(this FitnessMetric metric) => Table.First(e => e.Metric == metric).Name;

    /// <summary>Parses a name; spaces, hyphens and underscores are interchangeable and case is ignored.</summary>
    public static FitnessMetric Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normal = text.Trim().Replace('-', ' ').Replace('_', ' ').ToLowerInvariant();
        foreach (var (metric, name) in Table)
        {
            if (name == normal)
            {
                return metric;
            }
        }

        throw new ArgumentException($"unknown metric '{text}': expected one of {string.Join(", ", Names)}");
    }
}
