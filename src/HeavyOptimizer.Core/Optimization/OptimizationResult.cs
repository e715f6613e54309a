using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Ulta;

namespace HeavyOptimizer.Core.Optimization;

/// <summary>One algorithm's search at one size.</summary>
/// <param name="Algorithm">Algorithm code.</param>
/// <param name="Size">Portfolio size.</param>
/// <param name="Fitness">Fitness of <paramref name="Members"/>, evaluated in full (NaN when the run failed).</param>
/// <param name="Members">Best portfolio found, ascending strategy indices.</param>
/// <param name="Evaluations">Evaluations spent.</param>
/// <param name="Seconds">Wall time of the search.</param>
/// <param name="Error">Why the run failed; null when it finished.</param>
public sealed record AlgorithmRun(string Algorithm, int Size, double Fitness, int[] Members, long Evaluations, double Seconds, string? Error)
{
    /// <summary>True when the run finished and found a portfolio.</summary>
    public bool Succeeded => Error is null;
}

/// <summary>The outcome of an optimisation, everything the run output needs.</summary>
public sealed record OptimizationResult
{
    /// <summary>The request.</summary>
    public required OptimizationRequest Request { get; init; }

    /// <summary>The input as read.</summary>
    public required Dataset Dataset { get; init; }

    /// <summary>The matrix optimised over (after ULTA).</summary>
    public required StrategyMatrix Matrix { get; init; }

    /// <summary>Per-strategy metrics of <see cref="Matrix"/>, in its order.</summary>
    public required IReadOnlyList<SeriesMetrics> StrategyMetrics { get; init; }

    /// <summary>ULTA inversions; empty when ULTA did not run or inverted nothing.</summary>
    public required IReadOnlyList<InvertedStrategy> Inversions { get; init; }

    /// <summary>Every algorithm run, sizes ascending then algorithms in table order.</summary>
    public required IReadOnlyList<AlgorithmRun> Runs { get; init; }

    /// <summary>The winner: highest fitness among finished runs; ties go to the smaller size, then the earlier algorithm.</summary>
    public required AlgorithmRun Best { get; init; }

    /// <summary>Base metric of the best portfolio.</summary>
    public required double BestBaseMetric { get; init; }

    /// <summary>Mean pairwise correlation of the best portfolio.</summary>
    public required double BestMeanCorrelation { get; init; }

    /// <summary>The best portfolio's mean return series.</summary>
    public required double[] BestSeries { get; init; }

    /// <summary>Section-2 metrics of the best portfolio's series.</summary>
    public required SeriesMetrics BestMetrics { get; init; }

    /// <summary>Warnings and run errors, for error_log.txt.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>When the run started (UTC).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Seconds from start to the end of the search.</summary>
    public required double Seconds { get; init; }

    /// <summary>How the data backend's own per-strategy metrics compared with the engine's; null for the in-process reader.</summary>
    public BackendCheck? BackendCheck { get; init; }

    /// <summary>The local-search polish of the best portfolios, when the request asked for one.</summary>
    public PolishRun? Polish { get; init; }

    /// <summary>Names of the best portfolio's strategies, in ascending index (input) order.</summary>
    public IEnumerable<string> BestNames => Best.Members.Select(i => Matrix.Names[i]);
}

/// <summary>What the data backend did for a run, and how its own metrics agreed with the engine's.</summary>
/// <param name="Engine">What the backend ran on (e.g. "vectorised CPU", "embedded DuckDB standing in for HeavyDB").</param>
/// <param name="IngestSeconds">Time to ingest (or find) the dataset and read it back.</param>
/// <param name="MetricsSeconds">Time the backend took to compute every strategy's metrics.</param>
/// <param name="MaxRelativeDifference">Largest relative difference over every strategy and metric (absolute near zero).</param>
public sealed record BackendCheck(string Engine, double IngestSeconds, double MetricsSeconds, double MaxRelativeDifference);

/// <summary>
/// The polish: which algorithm's portfolio (and size) the best polished one started from, its fitness before and
/// after, the portfolio, and the evaluations and seconds all polishing threads spent. When it beats every run, the
/// result's best is this portfolio, named "FROM+LS".
/// </summary>
public sealed record PolishRun(string From, int Size, double FitnessBefore, double Fitness, int[] Members, long Evaluations, double Seconds);
