using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Optimization;

namespace HeavyOptimizer.Core.Output;

/// <summary>The machine-readable form of a run (result.json, and what <c>hopt optimize --json</c> prints).</summary>
public static class RunReport
{
    /// <summary>Serializer options of every JSON file the project writes: indented, camelCase, infinities as strings.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The version written into every result.</summary>
    public static string Version { get; } =
        typeof(RunReport).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Builds result.json's document for <paramref name="result"/> written as <paramref name="runId"/>.</summary>
    public static JsonObject Build(OptimizationResult result, string runId, IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(result);
        var request = result.Request;
        var matrix = result.Dataset.Matrix;
        return new JsonObject
        {
            ["run_id"] = runId,
            ["started_at"] = result.StartedAt.ToString("O"),
            ["execution_seconds"] = Math.Round(result.Seconds, 3),
            ["backend"] = request.Backend,
            ["backend_check"] = result.BackendCheck is { } check
                ? new JsonObject
                {
                    ["engine"] = check.Engine,
                    ["ingest_seconds"] = Math.Round(check.IngestSeconds, 3),
                    ["metrics_seconds"] = Math.Round(check.MetricsSeconds, 3),
                    ["metrics_max_relative_difference"] = check.MaxRelativeDifference,
                }
                : null,
            ["versions"] = new JsonObject
            {
                ["heavy_optimizer"] = Version,
                ["dotnet"] = Environment.Version.ToString(),
            },
            ["input"] = new JsonObject
            {
                ["path"] = Path.GetFullPath(result.Dataset.Source),
                ["fingerprint"] = result.Dataset.Fingerprint,
                ["rows"] = matrix.Rows,
                ["strategies"] = matrix.Count,
                ["first_date"] = matrix.Dates[0].ToString("yyyy-MM-dd"),
                ["last_date"] = matrix.Dates[^1].ToString("yyyy-MM-dd"),
                ["empty_cells"] = result.Dataset.EmptyCells,
            },
            ["parameters"] = new JsonObject
            {
                ["metric"] = request.Fitness.Metric.Name(),
                ["penalty_weight"] = request.Fitness.PenaltyWeight,
                ["drawdown_threshold"] = request.Fitness.DrawdownThreshold,
                ["min_size"] = request.MinSize,
                ["max_size"] = request.MaxSize,
                ["ulta"] = request.Ulta,
                ["seed"] = request.Seed,
                ["time_limit_seconds"] = request.TimeLimit?.TotalSeconds,
                ["max_evaluations"] = request.MaxEvaluations,
                ["preset"] = request.Preset,
                ["effort"] = request.Effort,
                ["algorithms"] = new JsonObject(request.Algorithms.Select(a =>
                    KeyValuePair.Create(a.Code, (JsonNode?)ToJson(request.ParametersOf(a).All)))),
            },
            ["algorithms"] = new JsonArray(result.Runs.Select(r => (JsonNode)new JsonObject
            {
                ["algorithm"] = r.Algorithm,
                ["size"] = r.Size,
                ["fitness"] = r.Succeeded ? r.Fitness : null,
                ["evaluations"] = r.Evaluations,
                ["seconds"] = Math.Round(r.Seconds, 4),
                ["error"] = r.Error,
            }).ToArray()),
            ["polish"] = result.Polish is { } polish ? new JsonObject
            {
                ["from"] = polish.From,
                ["size"] = polish.Size,
                ["fitness_before"] = polish.FitnessBefore,
                ["fitness"] = polish.Fitness,
                ["evaluations"] = polish.Evaluations,
                ["seconds"] = Math.Round(polish.Seconds, 4),
            } : null,
            ["best"] = new JsonObject
            {
                ["algorithm"] = result.Best.Algorithm,
                ["size"] = result.Best.Size,
                ["fitness"] = result.Best.Fitness,
                ["base_metric"] = result.BestBaseMetric,
                ["mean_correlation"] = result.BestMeanCorrelation,
                ["metrics"] = ToJson(result.BestMetrics),
                ["strategies"] = new JsonArray(result.BestNames.Select(n => (JsonNode?)n).ToArray()),
            },
            ["inversions"] = JsonSerializer.SerializeToNode(result.Inversions, JsonOptions),
            ["warnings"] = new JsonArray(result.Warnings.Select(w => (JsonNode?)w).ToArray()),
            ["files"] = new JsonArray(files.Select(f => (JsonNode?)f).ToArray()),
        };
    }

    /// <summary>Section-2 metrics as JSON, keyed by the names used in the text files.</summary>
    public static JsonObject ToJson(SeriesMetrics m) => new()
    {
        ["roi"] = m.Roi,
        ["max_drawdown"] = m.MaxDrawdown,
        ["win_percentage"] = m.WinPercentage,
        ["profit_factor"] = JsonNumber(m.ProfitFactor),
        ["expectancy"] = m.Expectancy,
        ["sharpe"] = m.Sharpe,
        ["sortino"] = m.Sortino,
        ["annualized_return"] = m.AnnualizedReturn,
    };

    private static JsonNode? JsonNumber(double value) => double.IsFinite(value) ? value : PythonFloat.Format(value);

    private static JsonObject ToJson(IReadOnlyDictionary<string, double> parameters) =>
        new(parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
}
