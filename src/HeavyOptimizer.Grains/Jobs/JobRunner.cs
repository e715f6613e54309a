using System.Diagnostics;
using System.Globalization;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Output;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>
/// Runs one job on its route: the primary and, in dual-write, the secondary in parallel with the same seed, each with
/// its own cancellation and the secondary's time limit counted from the job's start; the primary's result is the job's
/// and its run directory is written; the secondary is compared with it. A secondary that fails or overruns never fails
/// the job: the report says so. A failure of a backend call surfaces as a <see cref="BackendException"/> (the
/// backend's fault); bad input stays a <see cref="DatasetException"/>.
/// </summary>
/// <param name="backends">The silo's data backends.</param>
/// <param name="options">Where output goes, how long a secondary may take.</param>
/// <param name="metrics">
/// Computes a stored dataset's per-strategy metrics for a backend, on a GPU silo or not (in the cluster: a backend
/// grain); null to ask the backend directly.
/// </param>
/// <param name="cores">The cores the job may use (its searches' threads), shared by primary and secondary; null for all.</param>
public sealed class JobRunner(
    IBackendProvider backends, BackendHostOptions options, Func<string, string, bool, CancellationToken, Task<SeriesMetrics[]>>? metrics = null, int? cores = null)
{
    /// <summary>
    /// Runs <paramref name="spec"/> as job <paramref name="jobId"/> on <paramref name="route"/>; the primary's search
    /// reports to <paramref name="progress"/> (a few times a second, from the searching thread).
    /// </summary>
    public async Task<JobRun> RunAsync(string jobId, JobSpec spec, Route route, CancellationToken cancellation, Action<SearchProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(route);
        var request = JobRequests.ToRequest(spec);
        // Two runs at once share the cores instead of each taking them all.
        var threads = Math.Max(1, (cores ?? Environment.ProcessorCount) / (route.Secondary is null ? 1 : 2));
        using var secondaryCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        secondaryCancellation.CancelAfter(options.SecondaryTimeout);
        var secondary = route.Secondary is null
            ? null
            : Task.Run(() => RunOnAsync(route.Secondary, jobId, spec, request, threads, route.Gpu, write: false, secondaryCancellation.Token), secondaryCancellation.Token);
        Run main;
        try
        {
            main = await Task.Run(() => RunOnAsync(route.Primary, jobId, spec, request, threads, route.Gpu, write: true, cancellation, progress), cancellation);
        }
        catch
        {
            // The job fails with the primary; the secondary is stopped and observed, never left running.
            await secondaryCancellation.CancelAsync();
            await (secondary ?? Task.CompletedTask).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }

        if (secondary is null)
        {
            return new JobRun(main.Result, null, main.Timings, null);
        }

        try
        {
            var mirror = await secondary;
            var report = route.Validate ? Compare(main, mirror, route.Strict, compareSearch: spec.TimeLimitSeconds is null) : null;
            return new JobRun(main.Result, report, main.Timings, mirror.Timings);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
        {
            var reason = e is OperationCanceledException ? $"secondary overran {options.SecondaryTimeout} from the job's start" : e.Message;
            var report = new ConsistencyReport(route.Primary, route.Secondary!, null, false, 0, 0, false, new[] { $"secondary failed: {reason}" }, reason,
                Tolerance(route.Strict), false, new[] { new Comparison("secondary", Verdict.NotCompared, $"the secondary failed: {reason}") }, route.Strict);
            return new JobRun(main.Result, report, main.Timings, null);
        }
    }

    private async Task<Run> RunOnAsync(
        string backendName, string jobId, JobSpec spec, OptimizationRequest request, int threads, bool gpu, bool write,
        CancellationToken cancellation, Action<SearchProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var backend = await Call(backendName, () => backends.GetAsync(backendName, cancellation));
        var stored = await Call(backendName, () => backend.IngestAsync(spec.InputPath, cancellation));
        var ingest = clock.Elapsed.TotalSeconds;
        var dataset = await Call(backendName, () => backend.LoadAsync(stored.Fingerprint, cancellation));
        var load = clock.Elapsed.TotalSeconds - ingest;
        var result = Optimizer.Run(dataset, request with { Backend = backendName, Parallelism = threads }, progress, cancellation);
        var search = clock.Elapsed.TotalSeconds - ingest - load;
        var backendMetrics = await Call(backendName, () => metrics is null
            ? backend.ComputeMetricsAsync(stored.Fingerprint, cancellation)
            : metrics(backendName, stored.Fingerprint, gpu, cancellation));
        var metricsSeconds = clock.Elapsed.TotalSeconds - ingest - load - search;
        result = BackendChecks.Attach(result, backendName, backendMetrics, backendName, ingest + load, metricsSeconds);
        var directory = write ? RunWriter.Write(result, options.OutputRootOrDefault, jobId) : string.Empty;
        var seconds = clock.Elapsed.TotalSeconds;
        var summary = new JobResult(backendName, stored.Fingerprint, result.Best.Algorithm, result.Best.Size, result.Best.Fitness,
            result.BestNames.ToList(), directory, seconds);
        return new Run(summary, result, backendMetrics, new BackendTimings(backendName, ingest, load, search, metricsSeconds, seconds));
    }

    /// <summary>A call into a backend: anything it throws other than bad input or cancellation is the backend's fault.</summary>
    private static async Task<T> Call<T>(string backend, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is not (DatasetException or BackendException or OperationCanceledException or InvalidJobException))
        {
            throw new BackendException(backend, e.Message, e);
        }
    }

    private static double Tolerance(bool strict) => strict ? BackendChecks.StrictTolerance : BackendChecks.Tolerance;

    /// <summary>
    /// Primary against secondary as four comparisons. <c>data_path</c>: fingerprints and the matrix each backend
    /// returned (bit for bit when strict, with the bytes of strategy_metrics.csv too; else within 1e-9 relative).
    /// <c>metrics</c>: each backend's own metrics against the engine's, and against each other, within
    /// <see cref="BackendChecks.StrictTolerance"/> or <see cref="BackendChecks.Tolerance"/>. With
    /// <paramref name="compareSearch"/> (a budget-bound, hence reproducible search), <c>search</c>: every algorithm's
    /// fitness (bit for bit when strict), and <c>portfolio</c>: the chosen strategies; a time-limited search explores as
    /// far as its clock lets it, so those two are reported as not compared.
    /// </summary>
    internal static ConsistencyReport Compare(Run primary, Run secondary, bool strict, bool compareSearch = true)
    {
        var tolerance = Tolerance(strict);
        var problems = new List<string>();
        var comparisons = new List<Comparison>();
        void Add(string name, string? problem, string passed)
        {
            comparisons.Add(new Comparison(name, problem is null ? Verdict.Passed : Verdict.Failed, problem ?? passed));
            if (problem is not null)
            {
                problems.Add($"{name}: {problem}");
            }
        }

        var fingerprints = primary.Result.Fingerprint == secondary.Result.Fingerprint;
        var matrix = BackendChecks.MatrixDifference(primary.Optimization.Dataset.Matrix, secondary.Optimization.Dataset.Matrix, strict ? 0 : tolerance);
        var csv = strict && RunWriter.StrategyMetricsCsv(primary.Optimization) != RunWriter.StrategyMetricsCsv(secondary.Optimization);
        Add("data_path",
            !fingerprints ? $"dataset fingerprints differ: {primary.Result.Fingerprint} vs {secondary.Result.Fingerprint}"
            : matrix is not null ? $"the matrices read back differ at {matrix}"
            : csv ? "strategy_metrics.csv differs" : null,
            strict ? "same fingerprint, matrices and strategy_metrics.csv bit for bit" : $"same fingerprint, matrices within {Figure(tolerance)} relative");

        var own = new[] { primary, secondary }.Select(r => (r.Result.Backend, Difference: BackendChecks.MaxDifference(BackendChecks.EngineMetrics(r.Optimization), r.Metrics))).ToArray();
        var cross = BackendChecks.MaxDifference(primary.Metrics, secondary.Metrics);
        var worst = own.FirstOrDefault(o => o.Difference > tolerance);
        Add("metrics",
            worst.Backend is not null ? $"{worst.Backend}'s own metrics differ from the engine's by {Figure(worst.Difference)} relative (bound {Figure(tolerance)})"
            : cross > tolerance ? $"the backends' metrics differ by {Figure(cross)} relative (bound {Figure(tolerance)})" : null,
            $"each backend within {Figure(tolerance)} relative of the engine ({string.Join(", ", own.Select(o => $"{o.Backend} {Figure(o.Difference)}"))}), of each other {Figure(cross)}");

        var fitnessDifference = 0.0;
        string? fitnessProblem = null;
        foreach (var (a, b) in primary.Optimization.Runs.Zip(secondary.Optimization.Runs))
        {
            var d = SeriesMetrics.RelativeDifference(a.Fitness, b.Fitness);
            fitnessDifference = Math.Max(fitnessDifference, d);
            var same = strict ? a.Fitness.Equals(b.Fitness) : d <= tolerance;
            fitnessProblem ??= same ? null : $"{a.Algorithm} size {a.Size}: fitness {a.Fitness:R} vs {b.Fitness:R}";
        }

        var samePortfolio = primary.Result.Strategies.SequenceEqual(secondary.Result.Strategies);
        if (compareSearch)
        {
            Add("search", fitnessProblem, strict ? "every algorithm's fitness bit for bit" : $"every algorithm's fitness within {Figure(tolerance)} relative");
            Add("portfolio", samePortfolio ? null : "the chosen portfolios differ", "the same strategies");
        }
        else
        {
            const string why = "a time-limited search is not reproducible";
            comparisons.Add(new Comparison("search", Verdict.NotCompared, why));
            comparisons.Add(new Comparison("portfolio", Verdict.NotCompared, why));
        }

        var passed = comparisons.All(c => c.Verdict != Verdict.Failed);
        return new ConsistencyReport(primary.Result.Backend, secondary.Result.Backend, passed, fingerprints, cross, fitnessDifference, samePortfolio,
            problems, null, tolerance, compareSearch, comparisons, strict);
    }

    private static string Figure(double value) => value.ToString("G3", CultureInfo.InvariantCulture);

    /// <summary>One backend's run of the job.</summary>
    internal sealed record Run(JobResult Result, OptimizationResult Optimization, SeriesMetrics[] Metrics, BackendTimings Timings);
}

/// <summary>What a job's run produced: the primary's result, the comparison with the secondary, each backend's timings.</summary>
public sealed record JobRun(JobResult Result, ConsistencyReport? Report, BackendTimings Primary, BackendTimings? Secondary);

/// <summary>Seconds one backend spent on a job, phase by phase (what log_backend_performance logs).</summary>
public sealed record BackendTimings(string Backend, double Ingest, double Load, double Search, double Metrics, double Total)
{
    /// <summary>The time spent in the backend itself: ingest, read-back and metrics, without the search.</summary>
    public double BackendSeconds => Ingest + Load + Metrics;
}
