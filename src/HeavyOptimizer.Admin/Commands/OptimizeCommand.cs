using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Output;
using HeavyOptimizer.Core.Ulta;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt optimize</c>: one standalone optimisation run, written as a run directory.</summary>
internal static class OptimizeCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = "Strategy CSV (SPEC section 1)", Required = true };
        var size = new Option<int>("--portfolio-size", "-n") { Description = "Portfolio size", DefaultValueFactory = _ => 35 };
        var minSize = new Option<int?>("--min-size") { Description = "Smallest size of a size range (with --max-size)" };
        var maxSize = new Option<int?>("--max-size") { Description = "Largest size of a size range (with --min-size)" };
        var algorithms = new Option<string>("--algorithms") { Description = "Comma-separated codes: ga,pso,sa,de,aco,hc,bo,rs (default all)" };
        var metric = new Option<string>("--metric") { Description = $"Base metric: {string.Join(" | ", FitnessMetrics.Names)}", DefaultValueFactory = _ => "ratio" };
        var penalty = new Option<double>("--penalty-weight") { Description = "Weight of the mean pairwise correlation", DefaultValueFactory = _ => 10 };
        var threshold = new Option<double>("--drawdown-threshold") { Description = "Halve the penalty below this max drawdown", DefaultValueFactory = _ => 0 };
        var ulta = new Option<bool>("--ulta") { Description = "Invert losing strategies first (ULTA)" };
        var ultaGates = new Option<bool>("--ulta-gates") { Description = "Apply ULTA's extra gates (ROI < 0, >= 10 and >= 60 % negative rows)" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 42 };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Search for this many seconds instead of the evaluation budgets" };
        var maxEvaluations = new Option<long?>("--max-evaluations") { Description = "Evaluation budget per algorithm and size" };
        var parameters = new Option<string[]>("--param") { Description = "Parameter override ALG.NAME=VALUE, e.g. ga.population=50 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var output = new Option<string>("--output", "-o") { Description = "Directory that receives run_<timestamp>/", DefaultValueFactory = _ => "output" };
        var json = new Option<bool>("--json") { Description = "Print the run's result as one JSON document on stdout" };
        var command = new Command("optimize", "Choose the best portfolio of strategies from a CSV")
        {
            input, size, minSize, maxSize, algorithms, metric, penalty, threshold, ulta, ultaGates, seed, timeLimit,
            maxEvaluations, parameters, threads, output, json,
        };
        var backends = new BackendOptions();
        backends.AddTo(command);
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            var (min, max) = (parse.GetValue(minSize), parse.GetValue(maxSize)) switch
            {
                (null, null) => (parse.GetValue(size), parse.GetValue(size)),
                ({ } a, { } b) => (a, b),
                _ => throw new ArgumentException("--min-size and --max-size go together"),
            };
            var request = new OptimizationRequest
            {
                MinSize = min,
                MaxSize = max,
                Algorithms = SearchAlgorithms.Parse(parse.GetValue(algorithms)),
                Fitness = new FitnessOptions
                {
                    Metric = FitnessMetrics.Parse(parse.GetValue(metric)!),
                    PenaltyWeight = parse.GetValue(penalty),
                    DrawdownThreshold = parse.GetValue(threshold),
                },
                Ulta = parse.GetValue(ulta),
                UltaOptions = new UltaOptions { ApplyGates = parse.GetValue(ultaGates) },
                Seed = parse.GetValue(seed),
                TimeLimit = parse.GetValue(timeLimit) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                MaxEvaluations = parse.GetValue(maxEvaluations),
                Parameters = ParseOverrides(parse.GetValue(parameters) ?? []),
                Parallelism = parse.GetValue(threads),
            };
            request.Validate();
            var asJson = parse.GetValue(json);
            var clock = Stopwatch.StartNew();
            await using var backend = await backends.OpenAsync(parse, cancellation);
            var stored = await backend.IngestAsync(parse.GetValue(input)!, cancellation);
            var dataset = await backend.LoadAsync(stored.Fingerprint, cancellation);
            var ingestSeconds = clock.Elapsed.TotalSeconds;
            using var progress = new ProgressDisplay(Console.Error);
            var result = Optimizer.Run(dataset, request with { Backend = backend.Name }, progress.Report, cancellation);
            progress.Finish();
            if (backend is not InMemoryBackend)
            {
                result = await CheckBackendMetricsAsync(result, backend, BackendOptions.EngineOf(backend, parse, backends), ingestSeconds, cancellation);
            }

            var runDirectory = RunWriter.Write(result, parse.GetValue(output)!);
            if (asJson)
            {
                var document = JsonNode.Parse(File.ReadAllText(Path.Combine(runDirectory, "result.json")))!.AsObject();
                document["run_directory"] = Path.GetFullPath(runDirectory);
                Console.Out.WriteLine(document.ToJsonString(RunReport.JsonOptions));
            }
            else
            {
                PrintSummary(result, runDirectory);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>
    /// Has the backend compute every strategy's metrics in its own engine and compares them with the engine's (before
    /// ULTA); a difference above 1e-9 relative is a warning in the run's error log, never silently dropped.
    /// </summary>
    private static async Task<OptimizationResult> CheckBackendMetricsAsync(
        OptimizationResult result, IDataBackend backend, string engine, double ingestSeconds, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var theirs = await backend.ComputeMetricsAsync(result.Dataset.Fingerprint, cancellation);
        var seconds = clock.Elapsed.TotalSeconds;
        var ours = result.Request.Ulta ? Optimizer.StrategyMetrics(result.Dataset.Matrix) : result.StrategyMetrics;
        var worst = 0.0;
        for (var i = 0; i < ours.Count; i++)
        {
            worst = Math.Max(worst, SeriesMetrics.MaxRelativeDifference(ours[i], theirs[i]));
        }

        var warnings = worst > 1e-9
            ? result.Warnings.Append($"{backend.Name} backend metrics differ from the engine's by up to {worst:G3} relative").ToList()
            : result.Warnings;
        return result with { BackendCheck = new BackendCheck(engine, ingestSeconds, seconds, worst), Warnings = warnings };
    }

    /// <summary>Parses ALG.NAME=VALUE overrides into per-algorithm dictionaries.</summary>
    internal static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> ParseOverrides(IEnumerable<string> items)
    {
        var byAlgorithm = new Dictionary<string, Dictionary<string, double>>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            var dot = item.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || equals < dot + 2
                || !double.TryParse(item[(equals + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                throw new ArgumentException($"--param '{item}': expected ALGORITHM.NAME=NUMBER, e.g. ga.population=50");
            }

            var algorithm = item[..dot];
            if (!byAlgorithm.TryGetValue(algorithm, out var values))
            {
                byAlgorithm[algorithm] = values = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
            }

            values[item[(dot + 1)..equals]] = value;
        }

        var parsed = byAlgorithm.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double>)kv.Value, StringComparer.OrdinalIgnoreCase);
        foreach (var algorithm in SearchAlgorithms.All)
        {
            // Validates names now, with the algorithm named, rather than in the middle of the run.
            _ = new AlgorithmParameters(algorithm.Code, algorithm.Defaults, parsed.GetValueOrDefault(algorithm.Code));
        }

        return parsed;
    }

    private static void PrintSummary(OptimizationResult result, string runDirectory)
    {
        var out_ = Console.Out;
        out_.WriteLine($"{"algorithm",-9} {"size",4} {"fitness",12} {"evaluations",12} {"seconds",8}");
        foreach (var run in result.Runs)
        {
            var fitness = run.Succeeded ? run.Fitness.ToString("F4", CultureInfo.InvariantCulture) : "failed";
            out_.WriteLine($"{run.Algorithm,-9} {run.Size,4} {fitness,12} {run.Evaluations,12} {run.Seconds,8:F3}");
        }

        out_.WriteLine();
        out_.WriteLine($"best: {result.Best.Algorithm} size {result.Best.Size} fitness {result.Best.Fitness:F4} " +
                       $"(ROI {result.BestMetrics.Roi:F2}, max drawdown {result.BestMetrics.MaxDrawdown:F2}, mean correlation {result.BestMeanCorrelation:F4})");
        foreach (var warning in result.Warnings.Take(5))
        {
            out_.WriteLine($"warning: {warning}");
        }

        out_.WriteLine($"run directory: {Path.GetFullPath(runDirectory)}");
        out_.WriteLine($"Execution Time: {result.Seconds:F2} seconds");
    }
}
