using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Optimization;

namespace HeavyOptimizer.Core.Output;

/// <summary>
/// Writes a run directory (SPEC section 7). Everything goes into a hidden temporary directory beside the target,
/// manifest.json last, and the directory is renamed into place only when complete, so a half-written run never
/// looks like a run.
/// </summary>
public static class RunWriter
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "manifest.json";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes <paramref name="result"/> directly inside <paramref name="outputRoot"/>, never elsewhere; returns the run directory.</summary>
    public static string Write(OptimizationResult result, string outputRoot, string? jobId = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(outputRoot);
        if (jobId is not null && (jobId.Length == 0 || jobId.Contains("..", StringComparison.Ordinal) && jobId.Trim('.').Length == 0
                                  || jobId.IndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar, '\0']) >= 0))
        {
            throw new ArgumentException($"job id '{jobId}' cannot name a run directory");
        }

        Directory.CreateDirectory(outputRoot);
        var stamp = result.StartedAt.ToLocalTime().ToString("yyyyMMdd_HHmmss", CultureInfo.InvariantCulture);
        var runId = jobId is null ? $"run_{stamp}" : $"run_{stamp}_{jobId}";
        var temp = Path.Combine(outputRoot, $".{runId}.partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var target = FreeName(outputRoot, runId);
            if (Path.GetDirectoryName(Path.GetFullPath(target)) != Path.GetFullPath(outputRoot).TrimEnd(Path.DirectorySeparatorChar))
            {
                throw new ArgumentException($"run {runId} would not lie directly inside {outputRoot}");
            }

            runId = Path.GetFileName(target);
            WriteFiles(result, temp, runId, stamp);
            Directory.Move(temp, target);
            return target;
        }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    /// <summary>True when <paramref name="runDirectory"/> has a manifest whose every hash matches its file.</summary>
    public static bool Verify(string runDirectory, out string problem)
    {
        var manifestPath = Path.Combine(runDirectory, ManifestName);
        if (!File.Exists(manifestPath))
        {
            problem = "no manifest.json: the run is incomplete";
            return false;
        }

        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))?["files"]?.AsObject();
        if (manifest is null)
        {
            problem = "manifest.json has no file list";
            return false;
        }

        foreach (var (name, hash) in manifest)
        {
            var path = Path.Combine(runDirectory, name);
            if (!File.Exists(path))
            {
                problem = $"{name} is missing";
                return false;
            }

            if (Sha256(path) != hash?.GetValue<string>())
            {
                problem = $"{name} does not match its hash in the manifest";
                return false;
            }
        }

        problem = string.Empty;
        return true;
    }

    private static void WriteFiles(OptimizationResult result, string dir, string runId, string stamp)
    {
        var size = result.Best.Size;
        var bestName = $"Best_Portfolio_Size{size}_{stamp}";
        var files = new List<string>();
        void Text(string name, string content)
        {
            File.WriteAllText(Path.Combine(dir, name), content, Utf8);
            files.Add(name);
        }

        // The big metrics file and the two charts are made at once: on a 100,000-strategy run they are most of the writing.
        var title = $"Best Portfolio Size {size} ({result.Best.Algorithm}, fitness {result.Best.Fitness:F4})";
        Parallel.Invoke(
            () => File.WriteAllText(Path.Combine(dir, "strategy_metrics.csv"), StrategyMetricsCsv(result), Utf8),
            () => Charts.Equity(Path.Combine(dir, $"equity_curves_{bestName}.png"), result.Matrix.Dates, result.BestSeries, title),
            () => Charts.Drawdown(Path.Combine(dir, $"drawdowns_{bestName}.png"), result.Matrix.Dates, result.BestSeries, title));
        files.Add("strategy_metrics.csv");
        Text($"{bestName}.txt", BestPortfolio(result));
        files.Add($"equity_curves_{bestName}.png");
        files.Add($"drawdowns_{bestName}.png");
        Text("error_log.txt", string.Concat(result.Warnings.Select(w => w + "\n")));
        if (result.Request.Ulta)
        {
            Text("inversion_report.md", InversionReport(result));
        }

        Text($"optimization_summary_{stamp}.txt", Summary(result, runId));
        var report = RunReport.Build(result, runId, files.Append("result.json"));
        Text("result.json", report.ToJsonString(RunReport.JsonOptions) + "\n");
        var manifest = new JsonObject
        {
            ["run_id"] = runId,
            ["algorithm"] = "sha256",
            ["files"] = new JsonObject(files.Select(f => KeyValuePair.Create(f, (JsonNode?)Sha256(Path.Combine(dir, f))))),
        };
        File.WriteAllText(Path.Combine(dir, ManifestName), manifest.ToJsonString(RunReport.JsonOptions) + "\n", Utf8);
    }

    /// <summary>strategy_metrics.csv: one row per strategy in input order, the legacy header and number format.</summary>
    public static string StrategyMetricsCsv(OptimizationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return StrategyMetricsCsv(result.Matrix.Names, result.StrategyMetrics);
    }

    /// <summary>strategy_metrics.csv for <paramref name="names"/> and their metrics.</summary>
    public static string StrategyMetricsCsv(IReadOnlyList<string> names, IReadOnlyList<SeriesMetrics> metrics)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(metrics);
        // Formatted in blocks in parallel (shortest round-trip formatting of five numbers a row is the cost), joined in order.
        const int Block = 4096;
        var blocks = new string[(names.Count + Block - 1) / Block];
        Parallel.For(0, blocks.Length, b =>
        {
            var csv = new StringBuilder(Block * 96);
            for (var i = b * Block; i < Math.Min(names.Count, (b + 1) * Block); i++)
            {
                var m = metrics[i];
                csv.Append(CsvField(names[i])).Append(',')
                    .Append(PythonFloat.Format(m.Roi)).Append(',')
                    .Append(PythonFloat.Format(m.MaxDrawdown)).Append(',')
                    .Append(PythonFloat.Format(m.WinPercentage)).Append(',')
                    .Append(PythonFloat.Format(m.ProfitFactor)).Append(',')
                    .Append(PythonFloat.Format(m.Expectancy)).Append('\n');
            }

            blocks[b] = csv.ToString();
        });
        return ",ROI,Max Drawdown,Win Percentage,Profit Factor,Expectancy\n" + string.Concat(blocks);
    }

    private static string BestPortfolio(OptimizationResult result)
    {
        var m = result.BestMetrics;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Best Portfolio (Size {result.Best.Size})\n");
        text.Append(CultureInfo.InvariantCulture, $"Method: {result.Best.Algorithm}\n");
        (string Label, double Value)[] figures =
        [
            ("Fitness", result.Best.Fitness),
            ($"Base Metric ({result.Request.Fitness.Metric.Name()})", result.BestBaseMetric),
            ("Mean Correlation", result.BestMeanCorrelation),
            ("ROI", m.Roi),
            ("Max Drawdown", m.MaxDrawdown),
            ("Win Percentage", m.WinPercentage),
            ("Profit Factor", m.ProfitFactor),
            ("Expectancy", m.Expectancy),
            ("Sharpe Ratio", m.Sharpe),
            ("Sortino Ratio", m.Sortino),
            ("Annualized Return", m.AnnualizedReturn),
        ];
        foreach (var (label, value) in figures)
        {
            text.Append(label).Append(": ").Append(PythonFloat.Format(value)).Append('\n');
        }

        text.Append("\nStrategies:\n");
        AppendNumbered(text, result.BestNames);
        return text.ToString();
    }

    private static string Summary(OptimizationResult result, string runId)
    {
        var r = result.Request;
        var matrix = result.Dataset.Matrix;
        var s = new StringBuilder();
        void Line(FormattableString line) => s.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Line($"Heavy Optimizer - Optimization Summary");
        Line($"Run ID: {runId}");
        Line($"Date: {result.StartedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss}");
        Line($"Input File: {Path.GetFullPath(result.Dataset.Source)}");
        Line($"Dataset: {matrix.Rows} rows x {matrix.Count} strategies ({matrix.Dates[0]:yyyy-MM-dd} to {matrix.Dates[^1]:yyyy-MM-dd})");
        Line($"Dataset Fingerprint: sha256:{result.Dataset.Fingerprint}");
        Line($"Backend: {r.Backend}");
        if (result.BackendCheck is { } check)
        {
            Line($"Backend Engine: {check.Engine} (metrics agree with the engine to {check.MaxRelativeDifference:G3} relative)");
        }

        Line($"");
        Line($"Parameters:");
        Line($"  Metric: {r.Fitness.Metric.Name()}");
        Line($"  Portfolio Sizes: {(r.MinSize == r.MaxSize ? r.MinSize.ToString(CultureInfo.InvariantCulture) : $"{r.MinSize}-{r.MaxSize}")}");
        Line($"  Algorithms: {string.Join(", ", r.Algorithms.Select(a => a.Code))}");
        Line($"  ULTA: {(r.Ulta ? $"on ({result.Inversions.Count} inverted)" : "off")}");
        Line($"  Penalty Weight: {r.Fitness.PenaltyWeight}");
        Line($"  Drawdown Threshold: {r.Fitness.DrawdownThreshold}");
        Line($"  Seed: {r.Seed}");
        Line($"  Time Limit: {(r.TimeLimit is { } t ? $"{t.TotalSeconds} seconds" : "none (evaluation budgets)")}");
        Line($"  Preset: {r.Preset} (effort {r.Effort})");
        Line($"");
        Line($"Algorithm Results:");
        foreach (var run in result.Runs)
        {
            var outcome = run.Succeeded ? $"fitness {run.Fitness,12:F6}" : $"FAILED: {run.Error}";
            Line($"  {run.Algorithm,-4} size {run.Size,3}  {outcome}  evaluations {run.Evaluations,10}  seconds {run.Seconds,8:F3}");
        }

        if (result.Polish is { } polish)
        {
            Line($"  polish (local search from {polish.From} size {polish.Size}) fitness {polish.FitnessBefore:F6} -> {polish.Fitness:F6}  evaluations {polish.Evaluations,10}  seconds {polish.Seconds,8:F3}");
        }

        Line($"");
        Line($"Best Portfolio Size: {result.Best.Size}");
        Line($"Best Method: {result.Best.Algorithm}");
        Line($"Best Fitness: {result.Best.Fitness:F6}");
        Line($"");
        Line($"Strategies:");
        AppendNumbered(s, result.BestNames);
        Line($"");
        Line($"Execution Time: {result.Seconds:F2} seconds");
        return s.ToString();
    }

    private static string InversionReport(OptimizationResult result)
    {
        var s = new StringBuilder();
        s.Append("# ULTA inversion report\n\n");
        s.Append(CultureInfo.InvariantCulture, $"{result.Inversions.Count} of {result.Matrix.Count} strategies inverted.\n\n");
        s.Append("| strategy | inverted as | ROI | inverted ROI | drawdown | inverted drawdown | ratio | inverted ratio |\n");
        s.Append("|---|---|---|---|---|---|---|---|\n");
        foreach (var i in result.Inversions)
        {
            s.Append(CultureInfo.InvariantCulture,
                $"| {i.Original} | {i.Inverted} | {PythonFloat.Format(i.OriginalRoi)} | {PythonFloat.Format(i.InvertedRoi)} | {PythonFloat.Format(i.OriginalDrawdown)} | {PythonFloat.Format(i.InvertedDrawdown)} | {PythonFloat.Format(i.OriginalRatio)} | {PythonFloat.Format(i.InvertedRatio)} |\n");
        }

        return s.ToString();
    }

    private static void AppendNumbered(StringBuilder text, IEnumerable<string> names)
    {
        var n = 0;
        foreach (var name in names)
        {
            text.Append(CultureInfo.InvariantCulture, $"{++n}. {name}\n");
        }
    }

    private static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static string FreeName(string root, string runId)
    {
        var target = Path.Combine(root, runId);
        for (var n = 2; Directory.Exists(target); n++)
        {
            target = Path.Combine(root, $"{runId}_{n}");
        }

        return target;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
