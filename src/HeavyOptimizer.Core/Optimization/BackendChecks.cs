using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Optimization;

/// <summary>
/// How a data backend's own per-strategy metrics (computed in its SQL or kernels) compare with the engine's, and how two
/// matrices compare: what <c>hopt optimize</c> records as <c>backend_check</c> and what a dual-write job's consistency
/// report compares.
/// </summary>
public static class BackendChecks
{
    /// <summary>
    /// The bound a backend's metrics must keep from the engine's: relative differences up to 1e-9 are the last bits of
    /// a sum taken in another order; more is a warning in the run's error log.
    /// </summary>
    public const double Tolerance = 1e-9;

    /// <summary>
    /// The bound under strict validation: 1e-12 relative. The backends' SQL and kernels differ from the engine in the
    /// last bit or two (about 1e-16 relative, measured on the files in shared/data), so a correct backend keeps four
    /// orders of magnitude inside it, while any change to a value that shows in a metric at all exceeds it; a change
    /// too small for that is caught by the bit-for-bit comparison of the matrix.
    /// </summary>
    public const double StrictTolerance = 1e-12;

    /// <summary>The engine's metrics of the matrix the backend returned (before ULTA, which the backend never sees).</summary>
    public static IReadOnlyList<SeriesMetrics> EngineMetrics(OptimizationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Request.Ulta ? Optimizer.StrategyMetrics(result.Dataset.Matrix, result.Request.PeriodsPerYear) : result.StrategyMetrics;
    }

    /// <summary>The largest relative difference between two lists of metrics (infinite when their lengths differ).</summary>
    public static double MaxDifference(IReadOnlyList<SeriesMetrics> a, IReadOnlyList<SeriesMetrics> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count)
        {
            return double.PositiveInfinity;
        }

        var worst = 0.0;
        for (var i = 0; i < a.Count; i++)
        {
            worst = Math.Max(worst, SeriesMetrics.MaxRelativeDifference(a[i], b[i]));
        }

        return worst;
    }

    /// <summary>
    /// <paramref name="result"/> with its <see cref="OptimizationResult.BackendCheck"/> set from the backend's metrics,
    /// and a warning when they differ from the engine's by more than <see cref="Tolerance"/>.
    /// </summary>
    public static OptimizationResult Attach(
        OptimizationResult result, string backend, IReadOnlyList<SeriesMetrics> backendMetrics, string engine, double ingestSeconds, double metricsSeconds)
    {
        ArgumentNullException.ThrowIfNull(result);
        var worst = MaxDifference(EngineMetrics(result), backendMetrics);
        var warnings = worst > Tolerance
            ? result.Warnings.Append($"{backend} backend metrics differ from the engine's by up to {worst:G3} relative").ToList()
            : result.Warnings;
        return result with { BackendCheck = new BackendCheck(engine, ingestSeconds, metricsSeconds, worst), Warnings = warnings };
    }

    /// <summary>
    /// Where two matrices differ: null when names, dates and every value agree (bit for bit when
    /// <paramref name="tolerance"/> is 0, else within that relative difference), otherwise the first difference.
    /// </summary>
    public static string? MatrixDifference(StrategyMatrix a, StrategyMatrix b, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count || a.Rows != b.Rows)
        {
            return $"shape {a.Count} x {a.Rows} vs {b.Count} x {b.Rows}";
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (a.Names[i] != b.Names[i])
            {
                return $"strategy {i + 1} is '{a.Names[i]}' vs '{b.Names[i]}'";
            }
        }

        for (var r = 0; r < a.Rows; r++)
        {
            if (a.Dates[r] != b.Dates[r])
            {
                return $"row {r + 1} is dated {a.Dates[r]:yyyy-MM-dd} vs {b.Dates[r]:yyyy-MM-dd}";
            }
        }

        var x = a.Values;
        var y = b.Values;
        for (var k = 0; k < x.Length; k++)
        {
            var same = tolerance == 0 ? BitConverter.DoubleToInt64Bits(x[k]) == BitConverter.DoubleToInt64Bits(y[k]) : SeriesMetrics.RelativeDifference(x[k], y[k]) <= tolerance;
            if (!same)
            {
                return $"strategy {a.Names[k / a.Rows]}, row {k % a.Rows + 1}: {x[k]:R} vs {y[k]:R}";
            }
        }

        return null;
    }
}
