using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Output;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Core.Tests.Output;

public sealed class RunWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static OptimizationResult Result(bool ulta = false) => Optimizer.Run(
        Some.Dataset(Some.RandomMatrix(60, 30, 2), "data/input.csv"),
        new OptimizationRequest { MinSize = 10, MaxSize = 10, Ulta = ulta, Seed = 9 });

    [Fact]
    public void Writes_every_file_of_a_run_with_a_valid_manifest()
    {
        var result = Result(ulta: true);
        var run = RunWriter.Write(result, _dir.Path);
        var stamp = result.StartedAt.ToLocalTime().ToString("yyyyMMdd_HHmmss");

        Assert.Equal($"run_{stamp}", Path.GetFileName(run));
        foreach (var name in new[]
                 {
                     $"optimization_summary_{stamp}.txt", "strategy_metrics.csv", $"Best_Portfolio_Size10_{stamp}.txt",
                     $"equity_curves_Best_Portfolio_Size10_{stamp}.png", $"drawdowns_Best_Portfolio_Size10_{stamp}.png",
                     "error_log.txt", "inversion_report.md", "result.json", "manifest.json",
                 })
        {
            Assert.True(File.Exists(Path.Combine(run, name)), $"{name} is missing");
        }

        Assert.True(RunWriter.Verify(run, out var problem), problem);
        Assert.Empty(Directory.GetDirectories(_dir.Path, ".*"));
        var png = File.ReadAllBytes(Path.Combine(run, $"equity_curves_Best_Portfolio_Size10_{stamp}.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Fact]
    public void Summary_holds_the_line_health_scripts_grep()
    {
        var run = RunWriter.Write(Result(), _dir.Path);
        var summary = File.ReadAllText(Directory.GetFiles(run, "optimization_summary_*.txt").Single());

        Assert.Matches(new Regex(@"^Execution Time: \d+\.\d{2} seconds$", RegexOptions.Multiline), summary);
        Assert.Contains("Best Method: ", summary, StringComparison.Ordinal);
        Assert.Contains("Backend: core", summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Strategy_metrics_csv_has_the_legacy_header_and_one_row_per_strategy()
    {
        var result = Result();
        var lines = File.ReadAllLines(Path.Combine(RunWriter.Write(result, _dir.Path), "strategy_metrics.csv"));

        Assert.Equal(",ROI,Max Drawdown,Win Percentage,Profit Factor,Expectancy", lines[0]);
        Assert.Equal(61, lines.Length);
        var m = result.StrategyMetrics[0];
        Assert.Equal($"S0,{PythonFloat.Format(m.Roi)},{PythonFloat.Format(m.MaxDrawdown)},{PythonFloat.Format(m.WinPercentage)},"
                     + $"{PythonFloat.Format(m.ProfitFactor)},{PythonFloat.Format(m.Expectancy)}", lines[1]);
    }

    [Fact]
    public void Result_json_records_fingerprint_seed_backend_and_best()
    {
        var result = Result();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(RunWriter.Write(result, _dir.Path), "result.json")))!;

        Assert.Equal("0", (string?)json["input"]!["fingerprint"]);
        Assert.Equal(9UL, (ulong)json["parameters"]!["seed"]!);
        Assert.Equal("core", (string?)json["backend"]);
        Assert.Equal(result.Best.Fitness, (double)json["best"]!["fitness"]!);
        Assert.Equal(10, json["best"]!["strategies"]!.AsArray().Count);
        Assert.Equal(8, json["algorithms"]!.AsArray().Count);
    }

    [Fact]
    public void Tampered_or_incomplete_runs_fail_verification()
    {
        var run = RunWriter.Write(Result(), _dir.Path);
        File.AppendAllText(Path.Combine(run, "strategy_metrics.csv"), "x");
        Assert.False(RunWriter.Verify(run, out var problem));
        Assert.Contains("strategy_metrics.csv", problem, StringComparison.Ordinal);

        File.Delete(Path.Combine(run, "manifest.json"));
        Assert.False(RunWriter.Verify(run, out problem));
        Assert.Contains("incomplete", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_run_in_the_same_second_gets_its_own_directory()
    {
        var result = Result();
        var first = RunWriter.Write(result, _dir.Path);
        var second = RunWriter.Write(result, _dir.Path);
        var job = RunWriter.Write(result, _dir.Path, "job-42");

        Assert.NotEqual(first, second);
        Assert.EndsWith("_2", second, StringComparison.Ordinal);
        Assert.EndsWith("_job-42", job, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_write_leaves_nothing_that_looks_like_a_run()
    {
        var blocker = Path.Combine(_dir.Path, "not-a-directory");
        File.WriteAllText(blocker, string.Empty);
        Assert.ThrowsAny<IOException>(() => RunWriter.Write(Result(), blocker));
        Assert.Empty(Directory.GetDirectories(_dir.Path));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    public void A_job_id_that_names_a_path_never_places_a_run_outside_the_root(string jobId)
    {
        var result = Optimizer.Run(Some.Dataset(Some.RandomMatrix(20, 12, 3)), new OptimizationRequest { MinSize = 3, MaxSize = 3, MaxEvaluations = 50 });
        var root = Path.Combine(_dir.Path, "confined");

        Assert.Throws<ArgumentException>(() => RunWriter.Write(result, root, jobId));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Path));
    }
}
