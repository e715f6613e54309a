using System.Globalization;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Output;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Core.Tests.EndToEnd;

/// <summary>Runs over the real files in ../shared/data; each test reports itself skipped, with the reason, when they are absent.</summary>
public sealed class RealDataTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void Sensex_strategy_metrics_cover_all_2500_strategies_with_the_spec_definitions()
    {
        var data = CsvDatasetReader.Read(SharedData.File("sensex_2500.csv"));
        var result = Optimizer.Run(data, new OptimizationRequest { Seed = 1 });
        var lines = File.ReadAllLines(Path.Combine(RunWriter.Write(result, _dir.Path), "strategy_metrics.csv"));

        Assert.Equal(82, data.Matrix.Rows);
        Assert.Equal(2500, data.Matrix.Count);
        Assert.Equal(2501, lines.Length);
        Assert.Equal("SENSEX 1000-1100 SL7%", lines[1].Split(',')[0]);
        for (var i = 0; i < data.Matrix.Count; i++)
        {
            var fields = lines[i + 1].Split(',');
            Assert.Equal(data.Matrix.Names[i], fields[0]);
            var expected = Naive(data.Matrix.Column(i).ToArray());
            for (var k = 0; k < 5; k++)
            {
                var actual = double.Parse(fields[k + 1], CultureInfo.InvariantCulture);
                Assert.True(Close(expected[k], actual), $"{data.Matrix.Names[i]} field {k + 1}: expected {expected[k]}, wrote {actual}");
            }
        }
    }

    [SkippableFact]
    public void Sensex_default_run_writes_a_complete_run()
    {
        var data = CsvDatasetReader.Read(SharedData.File("sensex_2500.csv"));
        var result = Optimizer.Run(data, new OptimizationRequest { Seed = 2 });
        var run = RunWriter.Write(result, _dir.Path);

        Assert.True(RunWriter.Verify(run, out var problem), problem);
        Assert.Equal(35, result.Best.Members.Length);
        Assert.True(result.Best.Fitness > result.Runs.Single(r => r.Algorithm == "RS").Fitness);
    }

    [SkippableTheory]
    [InlineData("wide_25544x5_a.csv")]
    [InlineData("wide_25544x5_b.csv")]
    public void Production_width_files_optimise_end_to_end(string file)
    {
        var data = CsvDatasetReader.Read(SharedData.File(file));
        Assert.Equal(25_544, data.Matrix.Count);
        Assert.Equal(5, data.Matrix.Rows);

        var result = Optimizer.Run(data, new OptimizationRequest { Seed = 3 });
        var run = RunWriter.Write(result, _dir.Path);

        Assert.True(RunWriter.Verify(run, out var problem), problem);
        Assert.Equal(25_545, File.ReadLines(Path.Combine(run, "strategy_metrics.csv")).Count());
        Assert.Equal(35, result.Best.Members.Distinct().Count());
    }

    /// <summary>SPEC section 2 written out the obvious way, independently of the engine.</summary>
    private static double[] Naive(double[] r)
    {
        var roi = r.Sum();
        double equity = 0, peak = double.NegativeInfinity, dd = 0;
        foreach (var x in r)
        {
            equity += x;
            peak = Math.Max(peak, equity);
            dd = Math.Max(dd, peak - equity);
        }

        var wins = r.Where(x => x > 0).ToArray();
        var losses = r.Where(x => x < 0).ToArray();
        var w = (double)wins.Length / r.Length;
        var pf = losses.Length == 0 ? double.PositiveInfinity : wins.Sum() / Math.Abs(losses.Sum());
        var expectancy = w * (wins.Length > 0 ? wins.Average() : 0) - (1 - w) * (losses.Length > 0 ? losses.Average(Math.Abs) : 0);
        return [roi, dd, w, pf, expectancy];
    }

    private static bool Close(double expected, double actual) =>
        expected == actual || Math.Abs(expected - actual) <= 1e-9 * Math.Max(1, Math.Abs(expected));
}
