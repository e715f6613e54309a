namespace HeavyOptimizer.Core.Fitness;

/// <summary>How a portfolio is scored (SPEC section 4).</summary>
public sealed record FitnessOptions
{
    /// <summary>The base metric; default <see cref="FitnessMetric.Ratio"/>.</summary>
    public FitnessMetric Metric { get; init; } = FitnessMetric.Ratio;

    /// <summary>Weight w_c of the mean pairwise correlation; default 10.</summary>
    public double PenaltyWeight { get; init; } = 10;

    /// <summary>Below this max drawdown the penalty is halved; default 0, so never.</summary>
    public double DrawdownThreshold { get; init; }

    /// <summary>The defaults of SPEC section 4.</summary>
    public static FitnessOptions Default { get; } = new();
}
