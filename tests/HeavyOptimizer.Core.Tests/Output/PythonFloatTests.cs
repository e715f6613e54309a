using HeavyOptimizer.Core.Output;

namespace HeavyOptimizer.Core.Tests.Output;

public class PythonFloatTests
{
    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(100.0, "100.0")]
    [InlineData(-1033.9437999999996, "-1033.9437999999996")]
    [InlineData(0.5487804878048781, "0.5487804878048781")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.2345e20, "1.2345e+20")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    [InlineData(double.NaN, "nan")]
    [InlineData(-0.0, "-0.0")]
    public void Formats_like_python_repr(double value, string expected)
    {
        Assert.Equal(expected, PythonFloat.Format(value));
    }

    [Fact]
    public void The_plain_decimal_shortcut_agrees_with_the_general_layout_at_every_magnitude()
    {
        var random = new Random(7);
        for (var i = 0; i < 200_000; i++)
        {
            var value = (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 19));
            value = i % 5 == 0 ? Math.Round(value) : value;
            if (value == 0)
            {
                continue;
            }

            Assert.Equal(PythonFloat.Laid(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)), PythonFloat.Format(value));
        }
    }
}
