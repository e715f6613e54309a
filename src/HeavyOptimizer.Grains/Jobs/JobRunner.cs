using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Output;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>
/// Runs one job on its route: the primary and, in dual-write, the secondary in parallel with the same seed; the
/// primary's result is the job's and its run directory is written; the secondary is compared with it. A secondary
/// that fails or overruns never fails the job: the report says so.
/// </summary>
/// <param name="backends">The silo's data backends.</param>
/// <param name="options">Where output goes, how long a secondary may take.</param>
/// <param name="metrics">
/// Computes a stored dataset's per-strategy metrics for a backend (in the cluster: its backend grain, placed on a GPU
/// silo); null to ask the backend directly.
/// </param>
public sealed class JobRunner(
    IBackendProvider backends, BackendHostOptions options, Func<string, string, CancellationToken, Task<SeriesMetrics[]>>? metrics = null)
{
    /// <summary>Relative tolerance of the consistency check when not strict.</summary>
    public const double DefaultTolerance = 1e-9;

    /// <summary>
    /// Runs <paramref name="spec"/> as job <paramref name="jobId"/> on <paramref name="route"/>; the primary's search
    /// reports to <paramref name="progress"/> (a few times a second, from the searching thread).
    /// </summary>
    public async Task<(JobResult Result, ConsistencyReport? Report)> RunAsync(
        string jobId, JobSpec spec, Route route, bool strict, CancellationToken cancellation, Action<SearchProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(route);
        var primary = Task.Run(() => RunOnAsync(route.Primary, jobId, spec, write: true, cancellation, progress), cancellation);
        using var secondaryCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var secondary = route.Secondary is null
            ? null
            : Task.Run(() => RunOnAsync(route.Secondary, jobId, spec, write: false, secondaryCancellation.Token), secondaryCancellation.Token);
        var main = await primary;
        if (secondary is null)
        {
            return (main.Result, null);
        }

        try
        {
            var mirror = await secondary.WaitAsync(options.SecondaryTimeout, cancellation);
            return (main.Result, route.Validate ? Compare(main, mirror, strict ? 0 : DefaultTolerance, compareSearch: spec.TimeLimitSeconds is null) : null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
        {
            await secondaryCancellation.CancelAsync();
            var reason = e is TimeoutException ? $"secondary overran {options.SecondaryTimeout}" : e.Message;
            return (main.Result, new ConsistencyReport(route.Primary, route.Secondary!, null, false, 0, 0, false, [$"secondary failed: {reason}"], reason, strict ? 0 : DefaultTolerance));
        }
    }

    private async Task<Run> RunOnAsync(
        string backendName, string jobId, JobSpec spec, bool write, CancellationToken cancellation, Action<SearchProgress>? progress = null)
    {
        var started = DateTimeOffset.UtcNow;
        var backend = await backends.GetAsync(backendName, cancellation);
        var stored = await backend.IngestAsync(spec.InputPath, cancellation);
        var dataset = await backend.LoadAsync(stored.Fingerprint, cancellation);
        var request = new OptimizationRequest
        {
            MinSize = spec.PortfolioSize,
            MaxSize = spec.PortfolioSize,
            Seed = spec.Seed,
            Algorithms = SearchAlgorithms.Parse(spec.Algorithms),
            MaxEvaluations = spec.MaxEvaluations,
            TimeLimit = spec.TimeLimitSeconds is { } limit ? TimeSpan.FromSeconds(limit) : null,
            Backend = backendName,
        };
        var result = Optimizer.Run(dataset, request, progress, cancellation);
        var backendMetrics = metrics is null
            ? await backend.ComputeMetricsAsync(stored.Fingerprint, cancellation)
            : await metrics(backendName, stored.Fingerprint, cancellation);
        var directory = write
            ? RunWriter.Write(result, spec.OutputRoot ?? options.OutputRoot ?? Path.Combine(options.DataDirectory, "output"), jobId)
            : string.Empty;
        var seconds = (DateTimeOffset.UtcNow - started).TotalSeconds;
        var summary = new JobResult(backendName, stored.Fingerprint, result.Best.Algorithm, result.Best.Size, result.Best.Fitness,
            result.BestNames.ToList(), directory, seconds);
        return new Run(summary, result, backendMetrics);
    }

    /// <summary>
    /// Fingerprints and per-strategy metrics; with <paramref name="compareSearch"/> (a budget-bound, hence reproducible
    /// search) also per-algorithm and best fitness and the chosen portfolio. A time-limited search explores as far as
    /// its clock lets it, so two runs of it legitimately differ: their outputs are reported but do not fail the check.
    /// </summary>
    internal static ConsistencyReport Compare(Run primary, Run secondary, double tolerance, bool compareSearch = true)
    {
        var problems = new List<string>();
        var fingerprints = primary.Result.Fingerprint == secondary.Result.Fingerprint;
        if (!fingerprints)
        {
            problems.Add($"dataset fingerprints differ: {primary.Result.Fingerprint} vs {secondary.Result.Fingerprint}");
        }

        var metricDifference = 0.0;
        if (primary.Metrics.Length != secondary.Metrics.Length)
        {
            problems.Add($"{primary.Metrics.Length} vs {secondary.Metrics.Length} strategies");
            metricDifference = double.PositiveInfinity;
        }
        else
        {
            for (var i = 0; i < primary.Metrics.Length; i++)
            {
                var d = SeriesMetrics.MaxRelativeDifference(primary.Metrics[i], secondary.Metrics[i]);
                if (d > metricDifference)
                {
                    metricDifference = d;
                }

                if (d > tolerance && problems.Count < 20)
                {
                    problems.Add($"strategy {primary.Optimization.Dataset.Matrix.Names[i]}: metrics differ by {d:G3} relative");
                }
            }
        }

        var fitnessDifference = 0.0;
        foreach (var (a, b) in primary.Optimization.Runs.Zip(secondary.Optimization.Runs))
        {
            var d = SeriesMetrics.RelativeDifference(a.Fitness, b.Fitness);
            fitnessDifference = Math.Max(fitnessDifference, d);
            if (d > tolerance && compareSearch)
            {
                problems.Add($"{a.Algorithm} size {a.Size}: fitness {a.Fitness:R} vs {b.Fitness:R}");
            }
        }

        var samePortfolio = primary.Result.Strategies.SequenceEqual(secondary.Result.Strategies);
        if (!samePortfolio && compareSearch)
        {
            problems.Add("the chosen portfolios differ");
        }

        var passed = fingerprints && metricDifference <= tolerance && (!compareSearch || (samePortfolio && fitnessDifference <= tolerance));
        return new ConsistencyReport(primary.Result.Backend, secondary.Result.Backend, passed, fingerprints, metricDifference,
            fitnessDifference, samePortfolio, problems, null, tolerance, compareSearch);
    }

    /// <summary>One backend's run of the job.</summary>
    internal sealed record Run(JobResult Result, OptimizationResult Optimization, SeriesMetrics[] Metrics);
}
