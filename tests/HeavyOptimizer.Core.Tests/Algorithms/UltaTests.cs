using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Core.Ulta;

namespace HeavyOptimizer.Core.Tests.Algorithms;

public class UltaTests
{
    [Fact]
    public void Losing_strategy_is_replaced_by_its_negation()
    {
        // ROI -30, min -20: ratio -1.5; negated ROI 30, min -5: ratio 6.
        var matrix = Some.Matrix([-20, 5, -15], [1, 2, 3]);
        var (inverted, report) = UltaInversion.Apply(matrix, new UltaOptions());

        Assert.Equal(["S0_inv", "S1"], inverted.Names);
        Assert.Equal([20, -5, 15], inverted.Column(0).ToArray());
        Assert.Equal([1, 2, 3], inverted.Column(1).ToArray());
        var entry = Assert.Single(report);
        Assert.Equal((-30, 30, -1.5, 6.0), (entry.OriginalRoi, entry.InvertedRoi, entry.OriginalRatio, entry.InvertedRatio));
        Assert.Equal(15, entry.OriginalDrawdown); // equity -20, -15, -30: the first peak is -20, then -15
        Assert.Equal(5, entry.InvertedDrawdown);
        // The input matrix is untouched.
        Assert.Equal([-20, 5, -15], matrix.Column(0).ToArray());
    }

    [Fact]
    public void Applying_twice_changes_nothing_more()
    {
        var matrix = Some.RandomMatrix(200, 30, 4);
        var (once, first) = UltaInversion.Apply(matrix, new UltaOptions());
        var (twice, second) = UltaInversion.Apply(once, new UltaOptions());

        Assert.NotEmpty(first);
        Assert.Empty(second);
        Assert.Equal(once.Names, twice.Names);
        Assert.Equal(once.Values.ToArray(), twice.Values.ToArray());
    }

    [Fact]
    public void Gates_must_all_hold_when_enabled()
    {
        // Losing but with only 2 negative rows of 3: fails the 10-negative-days gate.
        var matrix = Some.Matrix([-20, 5, -15]);
        Assert.Single(UltaInversion.Apply(matrix, new UltaOptions()).Inverted);
        Assert.Empty(UltaInversion.Apply(matrix, new UltaOptions { ApplyGates = true }).Inverted);
        Assert.Single(UltaInversion.Apply(matrix, new UltaOptions { ApplyGates = true, MinNegativeDays = 2 }).Inverted);
    }

    [Fact]
    public void Ratio_is_infinite_when_the_minimum_is_zero()
    {
        Assert.Equal(double.PositiveInfinity, UltaInversion.Ratio([0, 5, 3]));
        Assert.Equal(-1.5, UltaInversion.Ratio([-20, 5, -15]));
    }
}
