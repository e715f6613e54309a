using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Output;
using HeavyOptimizer.Grains.Jobs;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt optimize</c>: one standalone optimisation run, written as a run directory.</summary>
internal static class OptimizeCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = "Strategy CSV (SPEC section 1)", Required = true };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var output = new Option<string>("--output", "-o") { Description = "Directory that receives run_<timestamp>/", DefaultValueFactory = _ => "output" };
        var json = new Option<bool>("--json") { Description = "Print the run's result as one JSON document on stdout" };
        var command = new Command("optimize", "Choose the best portfolio of strategies from a CSV") { input };
        var search = new SearchOptions();
        search.AddTo(command);
        command.Options.Add(threads);
        command.Options.Add(output);
        command.Options.Add(json);
        var backends = new BackendOptions();
        backends.AddTo(command);
        command.SetAction((parse, outer) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            // Ctrl+C and SIGTERM stop the search (the parser leaves them to the process's default, which kills it):
            // the command says so and exits 130, writing nothing.
            using var signals = new ConsoleSignals(outer);
            var cancellation = signals.Token;
            var request = JobRequests.ToRequest(search.Read(parse, parse.GetValue(input)!)) with { Parallelism = parse.GetValue(threads) };
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
                clock.Restart();
                var theirs = await backend.ComputeMetricsAsync(result.Dataset.Fingerprint, cancellation);
                result = BackendChecks.Attach(result, backend.Name, theirs, BackendOptions.EngineOf(backend, parse, backends), ingestSeconds, clock.Elapsed.TotalSeconds);
            }

            cancellation.ThrowIfCancellationRequested();
            var runDirectory = RunWriter.Write(result, parse.GetValue(output)!);
            if (cancellation.IsCancellationRequested)
            {
                // The signal came while the run was being written: the run is complete and kept, and the exit says it was interrupted.
                Console.Error.WriteLine($"hopt: cancelled after the run was written: {runDirectory} is complete");
                return ExitCodes.Cancelled;
            }

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

    private static void PrintSummary(OptimizationResult result, string runDirectory)
    {
        var out_ = Console.Out;
        out_.WriteLine($"{"algorithm",-9} {"size",4} {"fitness",12} {"evaluations",12} {"seconds",8}");
        foreach (var run in result.Runs)
        {
            var fitness = run.Succeeded ? run.Fitness.ToString("F4", CultureInfo.InvariantCulture) : "failed";
            out_.WriteLine($"{run.Algorithm,-9} {run.Size,4} {fitness,12} {run.Evaluations,12} {run.Seconds,8:F3}");
        }

        if (result.Polish is { } polish)
        {
            out_.WriteLine($"{"polish",-9} {polish.Size,4} {polish.Fitness,12:F4} {polish.Evaluations,12} {polish.Seconds,8:F3}  (local search from {polish.From}'s {polish.FitnessBefore:F4})");
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
