using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Core.Tests.Fitness;

public class FitnessTests
{
    private static double Score(FitnessOptions options, params double[][] columns)
    {
        var model = new FitnessModel(Some.Matrix(columns), options);
        return new PortfolioScorer(model).Evaluate(Enumerable.Range(0, columns.Length).ToArray());
    }

    private static FitnessOptions NoPenalty(FitnessMetric metric) => new() { Metric = metric, PenaltyWeight = 0 };

    [Fact]
    public void Ratio_is_roi_over_drawdown_of_the_mean_series()
    {
        // mean series 50, -25, 15, -40, 10: ROI 10, drawdown 50.
        Assert.Equal(0.2, Score(NoPenalty(FitnessMetric.Ratio), [100, -50, 30, -80, 20], [0, 0, 0, 0, 0]), 12);
    }

    [Theory]
    [InlineData(new[] { 1.0, 2.0 }, 300.0)] // no drawdown, ROI 3 > 0: 100 * ROI
    [InlineData(new[] { -5.0, 0.0 }, -50.0)] // no drawdown (first equity is the peak), ROI -5: 10 * ROI
    [InlineData(new[] { 0.0, 0.0 }, 0.0)] // no drawdown, ROI 0
    public void Ratio_without_drawdown_follows_the_legacy_rules(double[] series, double expected)
    {
        Assert.Equal(expected, Score(NoPenalty(FitnessMetric.Ratio), series), 12);
    }

    [Fact]
    public void Other_base_metrics_follow_section_4()
    {
        double[] s = [100, -50, 30, -80, 20];
        Assert.Equal(20, Score(NoPenalty(FitnessMetric.Roi), s), 12);
        Assert.Equal(-100, Score(NoPenalty(FitnessMetric.LessMaxDd), s), 12);
        Assert.Equal(0.6, Score(NoPenalty(FitnessMetric.WinPercentage), s), 12);
        Assert.Equal(4, Score(NoPenalty(FitnessMetric.Expectancy), s), 12);
        Assert.Equal(150.0 / 130.0, Score(NoPenalty(FitnessMetric.ProfitFactor), s), 12);
    }

    [Fact]
    public void Profit_factor_is_one_without_losses_and_zero_without_either()
    {
        Assert.Equal(1.0, Score(NoPenalty(FitnessMetric.ProfitFactor), [5, 0, 3]));
        Assert.Equal(0.0, Score(NoPenalty(FitnessMetric.ProfitFactor), [0, 0, 0]));
        // Losses of at most 1e-6 in all count as none.
        Assert.Equal(1.0, Score(NoPenalty(FitnessMetric.ProfitFactor), [5, -1e-7, 3]));
    }

    [Fact]
    public void Penalty_is_weight_times_mean_pairwise_correlation()
    {
        // a and 2a correlate 1; b = reversed a correlates -1 with both (for this symmetric shape).
        double[] a = [1, 2, 3, 4];
        double[] twice = [2, 4, 6, 8];
        var options = new FitnessOptions { Metric = FitnessMetric.Roi, PenaltyWeight = 10 };
        var roi = (a.Sum() + twice.Sum()) / 2;
        Assert.Equal(roi - 10, Score(options, a, twice), 12);

        double[] reversed = [4, 3, 2, 1];
        // pairs: (a, 2a) = 1, (a, rev) = -1, (2a, rev) = -1: mean -1/3.
        var roi3 = (a.Sum() + twice.Sum() + reversed.Sum()) / 3;
        Assert.Equal(roi3 + 10.0 / 3, Score(options, a, twice, reversed), 12);
    }

    [Fact]
    public void Zero_variance_strategy_correlates_zero_with_everything()
    {
        var options = new FitnessOptions { Metric = FitnessMetric.Roi, PenaltyWeight = 10 };
        double[] a = [1, 2, 3, 4];
        double[] flat = [7, 7, 7, 7];
        Assert.Equal((a.Sum() + flat.Sum()) / 2, Score(options, a, flat), 12);
        var model = new FitnessModel(Some.Matrix(a, flat), options);
        Assert.Equal(0, model.Correlation(0, 1));
    }

    [Fact]
    public void Penalty_is_halved_below_the_drawdown_threshold()
    {
        double[] a = [1, 2, 3, 4];
        double[] twice = [2, 4, 6, 8];
        var roi = (a.Sum() + twice.Sum()) / 2;
        // No drawdown, so any positive threshold halves the penalty.
        var halved = new FitnessOptions { Metric = FitnessMetric.Roi, PenaltyWeight = 10, DrawdownThreshold = 0.5 };
        Assert.Equal(roi - 5, Score(halved, a, twice), 12);
        var never = new FitnessOptions { Metric = FitnessMetric.Roi, PenaltyWeight = 10 };
        Assert.Equal(roi - 10, Score(never, a, twice), 12);
    }

    [Fact]
    public void Metric_names_parse_with_spaces_hyphens_or_underscores()
    {
        Assert.Equal(FitnessMetric.LessMaxDd, FitnessMetrics.Parse("less max dd"));
        Assert.Equal(FitnessMetric.LessMaxDd, FitnessMetrics.Parse("Less-Max-DD"));
        Assert.Equal(FitnessMetric.WinPercentage, FitnessMetrics.Parse("win_percentage"));
        var error = Assert.Throws<ArgumentException>(() => FitnessMetrics.Parse("sharpe"));
        Assert.Contains("sharpe", error.Message, StringComparison.Ordinal);
    }
}
