using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Tests.Metrics;

public class SeriesMetricsTests
{
    [Fact]
    public void Mixed_series_matches_hand_computed_figures()
    {
        // equity 100, 50, 80, 0, 20; peak stays 100, so the drawdown is 100 at the fourth row.
        var m = SeriesMetrics.Compute([100, -50, 30, -80, 20]);

        Assert.Equal(20, m.Roi);
        Assert.Equal(100, m.MaxDrawdown);
        Assert.Equal(0.6, m.WinPercentage);
        Assert.Equal(150.0 / 130.0, m.ProfitFactor, 15);
        Assert.Equal(0.6 * 50 - 0.4 * 65, m.Expectancy, 12);
        Assert.Equal(20 * 252 / 5.0, m.AnnualizedReturn, 12);
        // mean 4, population std sqrt(20120 / 5); Sharpe = 1008 / (63.4350... * sqrt(252)).
        Assert.Equal(1.0009935422222145, m.Sharpe, 12);
        // losses -50 and -80: mean -65, population std 15.
        Assert.Equal(1008 / (15 * Math.Sqrt(252)), m.Sortino, 12);
    }

    [Fact]
    public void Zero_is_not_a_peak_so_an_early_loss_is_no_drawdown()
    {
        // equity -5 then 5: the first peak is -5, so nothing falls below a peak.
        Assert.Equal(0, SeriesMetrics.Compute([-5, 10]).MaxDrawdown);
        // equity 10, 4, 7: peak 10, trough 4.
        Assert.Equal(6, SeriesMetrics.Compute([10, -6, 3]).MaxDrawdown);
    }

    [Fact]
    public void Rising_series_has_no_drawdown_and_no_loss()
    {
        var m = SeriesMetrics.Compute([1, 2, 3]);

        Assert.Equal(0, m.MaxDrawdown);
        Assert.Equal(double.PositiveInfinity, m.ProfitFactor);
        Assert.Equal(1, m.WinPercentage);
        Assert.Equal(2, m.Expectancy, 12);
        Assert.Equal(0, m.Sortino);
    }

    [Fact]
    public void Constant_series_has_zero_sharpe_and_zero_series_no_wins()
    {
        Assert.Equal(0, SeriesMetrics.Compute([5, 5, 5]).Sharpe);
        var zero = SeriesMetrics.Compute([0, 0, 0, 0]);
        Assert.Equal(0, zero.WinPercentage);
        Assert.Equal(0, zero.Expectancy);
        Assert.Equal(double.PositiveInfinity, zero.ProfitFactor);
        Assert.Equal(0, zero.MaxDrawdown);
    }

    [Fact]
    public void Only_losses_give_zero_profit_factor_and_negative_expectancy()
    {
        var m = SeriesMetrics.Compute([-10, -30]);

        Assert.Equal(0, m.ProfitFactor);
        Assert.Equal(-20, m.Expectancy);
        Assert.Equal(30, m.MaxDrawdown);
    }

    [Fact]
    public void Single_equal_losses_give_zero_sortino()
    {
        Assert.Equal(0, SeriesMetrics.Compute([10, -5, 10, -5]).Sortino);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(82)]
    [InlineData(1001)]
    public void Hot_path_statistics_in_row_layout_agree_with_the_reference_scan(int length)
    {
        var rng = new Rng((ulong)length);
        for (var trial = 0; trial < 50; trial++)
        {
            var sums = Enumerable.Range(0, length).Select(_ => Math.Round((rng.NextDouble() - 0.5) * 1000, 2)).ToArray();
            var divisor = 1 + rng.Next(50);
            var reference = SeriesStats.Of(sums.Select(s => s / divisor).ToArray());
            var layout = new RowLayout(length);
            var stored = new double[length];
            layout.Store(sums, stored);
            var fast = PortfolioStats.Of(stored, divisor, distribution: true, layout);

            Assert.Equal(reference.Sum, fast.Sum, 1e-9);
            Assert.Equal(reference.MaxDrawdown, fast.MaxDrawdown, 1e-9);
            Assert.Equal(reference.GainSum, fast.GainSum, 1e-9);
            Assert.Equal(reference.LossSum, fast.LossSum, 1e-9);
            Assert.Equal(reference.Wins, fast.Wins);
            Assert.Equal(reference.Losses, fast.Losses);
            var restored = new double[length];
            layout.Restore(stored, restored);
            Assert.Equal(sums, restored);
        }
    }
}
