using System.Diagnostics;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Ulta;

namespace HeavyOptimizer.Core.Optimization;

/// <summary>
/// Runs an optimisation: ULTA, per-strategy metrics, then every (size, algorithm) search, spread over the worker
/// threads. Each search has its own random stream derived from the seed, so results do not depend on scheduling.
/// </summary>
public static class Optimizer
{
    /// <summary>Optimises <paramref name="dataset"/>; throws <see cref="DatasetException"/> when it is too small for the request.</summary>
    public static OptimizationResult Run(
        Dataset dataset, OptimizationRequest request, Action<SearchProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        if (dataset.Matrix.Count < request.MaxSize)
        {
            throw new DatasetException(dataset.Source,
                $"{dataset.Matrix.Count} strategies: fewer than the portfolio size {request.MaxSize}");
        }

        var (matrix, inversions) = request.Ulta ? UltaInversion.Apply(dataset.Matrix, request.UltaOptions) : (dataset.Matrix, []);
        var metrics = StrategyMetrics(matrix, request.PeriodsPerYear);
        var model = new FitnessModel(matrix, request.Fitness);
        var searchClock = Stopwatch.StartNew();
        var runs = Search(model, request with { TimeLimit = request.TimeLimit * (1 - request.PolishTimeShare) }, progress, cancellation);
        var polish = Polish(model, request, runs, request.TimeLimit - searchClock.Elapsed, progress, cancellation);
        // A search stops early when cancelled; a result it cut short must never pass for a finished one.
        cancellation.ThrowIfCancellationRequested();
        var warnings = dataset.Warnings.Concat(runs.Where(r => !r.Succeeded).Select(r => $"{r.Algorithm} size {r.Size} failed: {r.Error}")).ToList();
        var best = Winner(runs) ?? throw new InvalidOperationException(
            "every algorithm failed: " + string.Join("; ", runs.Select(r => $"{r.Algorithm}: {r.Error}")));
        if (polish is { } polished && polished.Fitness > best.Fitness)
        {
            // The polished portfolio is its own result: named after the run it started from, at that run's size.
            best = new AlgorithmRun($"{polished.From}+LS", polished.Size, polished.Fitness, polished.Members, polished.Evaluations, polished.Seconds, null);
        }
        var breakdown = new PortfolioScorer(model).Explain(best.Members);
        return new OptimizationResult
        {
            Request = request,
            Dataset = dataset,
            Matrix = matrix,
            StrategyMetrics = metrics,
            Inversions = inversions,
            Runs = runs,
            Best = best,
            BestBaseMetric = breakdown.BaseMetric,
            BestMeanCorrelation = breakdown.MeanCorrelation,
            BestSeries = breakdown.Series,
            BestMetrics = SeriesMetrics.Compute(breakdown.Series, request.PeriodsPerYear),
            Warnings = warnings,
            StartedAt = startedAt,
            Seconds = clock.Elapsed.TotalSeconds,
            Polish = polish,
        };
    }

    /// <summary>
    /// Iterated local search (<see cref="LocalSearch"/>) from the best distinct portfolios of the runs, one per worker
    /// thread, each with its own seed and <see cref="OptimizationRequest.PolishEvaluations"/> (or its share of the
    /// time limit); the best of them, or null when no polish was asked for.
    /// </summary>
    private static PolishRun? Polish(FitnessModel model, OptimizationRequest request, AlgorithmRun[] runs, TimeSpan? remaining, Action<SearchProgress>? progress, CancellationToken cancellation)
    {
        var timed = request.TimeLimit is not null && request.PolishTimeShare > 0;
        if (!timed && request.PolishEvaluations <= 0)
        {
            return null;
        }

        var starts = runs.Where(r => r.Succeeded).OrderByDescending(r => r.Fitness).DistinctBy(r => string.Join(',', r.Members))
            .Take(Math.Max(1, request.PolishStarts)).ToArray();
        if (starts.Length == 0)
        {
            return null;
        }

        var clock = Stopwatch.StartNew();
        var slice = timed ? TimeSpan.FromTicks(Math.Max(remaining?.Ticks ?? 0, TimeSpan.TicksPerMillisecond)) : (TimeSpan?)null;
        var polished = new (double Fitness, int[] Members, long Evaluations)[starts.Length];
        var parameters = new AlgorithmParameters("LS", LocalSearch.Defaults, request.Parameters.GetValueOrDefault("LS"));
        Parallel.For(0, starts.Length, new ParallelOptions { MaxDegreeOfParallelism = starts.Length }, i =>
        {
            var start = starts[i];
            var context = new SearchContext("LS", model, start.Size, Rng.Derive(request.Seed, 100, (ulong)i), parameters,
                timed ? long.MaxValue : request.PolishEvaluations, slice, cancellation, progress);
            LocalSearch.Run(context, start.Members);
            var members = context.BestMembers.Order().ToArray();
            polished[i] = (new PortfolioScorer(model).Evaluate(members), members, context.Evaluations);
        });
        var winner = 0;
        for (var i = 1; i < polished.Length; i++)
        {
            winner = polished[i].Fitness > polished[winner].Fitness ? i : winner;
        }

        return new PolishRun(starts[winner].Algorithm, starts[winner].Size, starts[winner].Fitness, polished[winner].Fitness, polished[winner].Members,
            polished.Sum(p => p.Evaluations), clock.Elapsed.TotalSeconds);
    }

    /// <summary>Section-2 metrics of every strategy, in input order.</summary>
    public static SeriesMetrics[] StrategyMetrics(StrategyMatrix matrix, double periodsPerYear = SeriesMetrics.DefaultPeriodsPerYear)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        var metrics = new SeriesMetrics[matrix.Count];
        Parallel.For(0, (matrix.Count + 511) / 512, block =>
        {
            var end = Math.Min(matrix.Count, (block + 1) * 512);
            for (var i = block * 512; i < end; i++)
            {
                metrics[i] = SeriesMetrics.Compute(matrix.Column(i), periodsPerYear);
            }
        });
        return metrics;
    }

    /// <summary>Highest fitness among finished runs; ties keep the earlier run (smaller size, then table order).</summary>
    public static AlgorithmRun? Winner(IEnumerable<AlgorithmRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        AlgorithmRun? best = null;
        foreach (var run in runs)
        {
            if (run.Succeeded && (best is null || run.Fitness > best.Fitness))
            {
                best = run;
            }
        }

        return best;
    }

    private static AlgorithmRun[] Search(
        FitnessModel model, OptimizationRequest request, Action<SearchProgress>? progress, CancellationToken cancellation)
    {
        var tasks = (from size in Enumerable.Range(request.MinSize, request.MaxSize - request.MinSize + 1)
                     from algorithm in request.Algorithms
                     select (size, algorithm)).ToArray();
        var workers = Math.Clamp(request.Parallelism ?? Environment.ProcessorCount, 1, tasks.Length);
        TimeSpan? slice = request.TimeLimit is { } limit ? limit * workers / tasks.Length : null;
        var runs = new AlgorithmRun[tasks.Length];
        Parallel.For(0, tasks.Length, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
        {
            var (size, algorithm) = tasks[i];
            runs[i] = RunOne(model, request, algorithm, size, slice, progress, cancellation);
        });
        return runs;
    }

    private static AlgorithmRun RunOne(
        FitnessModel model, OptimizationRequest request, SearchAlgorithm algorithm, int size, TimeSpan? slice,
        Action<SearchProgress>? progress, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var parameters = request.ParametersOf(algorithm);
        var budget = request.MaxEvaluations ?? (slice is not null ? long.MaxValue : request.Budgets?.GetValueOrDefault(algorithm.Code) is > 0 and var preset ? preset : algorithm.Budget(parameters));
        var index = SearchAlgorithms.All.ToList().IndexOf(algorithm);
        var seed = Rng.Derive(request.Seed, (ulong)index, (ulong)size);
        var context = new SearchContext(algorithm.Code, model, size, seed, parameters, budget, slice, cancellation, progress);
        try
        {
            algorithm.Run(context);
            if (double.IsNegativeInfinity(context.BestFitness))
            {
                return new AlgorithmRun(algorithm.Code, size, double.NaN, [], context.Evaluations, clock.Elapsed.TotalSeconds,
                    "stopped before its first evaluation");
            }

            var members = context.BestMembers.Order().ToArray();
            var fitness = new PortfolioScorer(model).Evaluate(members);
            context.ReportFinal();
            return new AlgorithmRun(algorithm.Code, size, fitness, members, context.Evaluations, clock.Elapsed.TotalSeconds, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new AlgorithmRun(algorithm.Code, size, double.NaN, [], context.Evaluations, clock.Elapsed.TotalSeconds, e.Message);
        }
    }
}
