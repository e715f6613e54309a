using System.Runtime.CompilerServices;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Fitness;

/// <summary>
/// The immutable, thread-safe part of fitness evaluation: the dataset, the scoring options and every strategy's
/// standardised column z_i = (x_i - mean) / ||x_i - mean|| (zero for a zero-variance strategy), so that
/// corr(i, j) = z_i . z_j and the sum of a portfolio's pairwise correlations is (||sum z_i||^2 - sum ||z_i||^2) / 2.
/// The M x M correlation matrix is never built. Columns are held in <see cref="RowLayout"/> order for the hot paths.
/// </summary>
public sealed class FitnessModel
{
    private readonly double[] _values;
    private readonly double[] _z;
    private readonly double[] _zNormSquared;

    /// <summary>Precomputes the standardised columns of <paramref name="matrix"/>.</summary>
    public FitnessModel(StrategyMatrix matrix, FitnessOptions options)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(options);
        Matrix = matrix;
        Options = options;
        Rows = matrix.Rows;
        Layout = new RowLayout(Rows);
        _values = GC.AllocateUninitializedArray<double>(matrix.Count * Rows);
        _z = GC.AllocateUninitializedArray<double>(matrix.Count * Rows);
        _zNormSquared = new double[matrix.Count];
        Parallel.For(0, (matrix.Count + 1023) / 1024, block =>
        {
            var end = Math.Min(matrix.Count, (block + 1) * 1024);
            var z = new double[Rows];
            for (var i = block * 1024; i < end; i++)
            {
                _zNormSquared[i] = Standardize(matrix.Column(i), z);
                Layout.Store(matrix.Column(i), _values.AsSpan(i * Rows, Rows));
                Layout.Store(z, _z.AsSpan(i * Rows, Rows));
            }
        });
    }

    /// <summary>The dataset.</summary>
    public StrategyMatrix Matrix { get; }

    /// <summary>How portfolios are scored.</summary>
    public FitnessOptions Options { get; }

    /// <summary>Rows per series.</summary>
    public int Rows { get; }

    /// <summary>Number of strategies to choose from.</summary>
    public int Count => Matrix.Count;

    /// <summary>Whether the metric needs gains, losses and their counts, not just ROI and drawdown.</summary>
    internal bool NeedsDistribution => Options.Metric is FitnessMetric.WinPercentage or FitnessMetric.ProfitFactor or FitnessMetric.Expectancy;

    /// <summary>The order in which <see cref="Values"/> and <see cref="Z"/> hold each strategy's rows.</summary>
    internal RowLayout Layout { get; }

    /// <summary>The strategies' columns in <see cref="Layout"/> order.</summary>
    internal double[] Values => _values;

    /// <summary>The standardised columns in <see cref="Layout"/> order.</summary>
    internal double[] Z => _z;

    internal double ZNormSquared(int strategy) => _zNormSquared[strategy];

    /// <summary>Pearson correlation of two strategies (0 when either has zero variance).</summary>
    public double Correlation(int a, int b) => Vectors.Dot(_z.AsSpan(a * Rows, Rows), _z.AsSpan(b * Rows, Rows));

    /// <summary>
    /// Fitness from a portfolio's statistics: base metric minus the correlation penalty, where
    /// <paramref name="pairSumTwice"/> is twice the sum of the pairwise correlations of its <paramref name="size"/> members.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Score(in SeriesStats stats, int size, double pairSumTwice)
    {
        var meanCorrelation = size > 1 ? pairSumTwice / ((double)size * (size - 1)) : 0;
        var penalty = Options.PenaltyWeight * meanCorrelation;
        if (stats.MaxDrawdown < Options.DrawdownThreshold)
        {
            penalty /= 2;
        }

        return BaseMetric(stats) - penalty;
    }

    /// <summary>The base metric of SPEC section 4 for a series with these statistics.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double BaseMetric(in SeriesStats stats) => Options.Metric switch
    {
        FitnessMetric.Ratio => stats.MaxDrawdown > 1e-6 ? stats.Sum / stats.MaxDrawdown
            : stats.Sum > 0 ? 100 * stats.Sum
            : stats.Sum < 0 ? 10 * stats.Sum
            : 0,
        FitnessMetric.Roi => stats.Sum,
        FitnessMetric.LessMaxDd => -stats.MaxDrawdown,
        FitnessMetric.WinPercentage => stats.WinPercentage(Rows),
        FitnessMetric.ProfitFactor => -stats.LossSum > 1e-6 ? stats.GainSum / -stats.LossSum
            : stats.GainSum > 0 ? 1.0
            : 0.0,
        FitnessMetric.Expectancy => stats.Expectancy(Rows),
        _ => throw new InvalidOperationException($"unknown metric {Options.Metric}"),
    };

    private static double Standardize(ReadOnlySpan<double> x, Span<double> z)
    {
        var constant = true;
        var mean = 0.0;
        foreach (var v in x)
        {
            mean += v;
            constant &= v == x[0];
        }

        if (constant)
        {
            z.Clear();
            return 0;
        }

        mean /= x.Length;
        var sumSquares = 0.0;
        for (var t = 0; t < x.Length; t++)
        {
            z[t] = x[t] - mean;
            sumSquares += z[t] * z[t];
        }

        var scale = 1 / Math.Sqrt(sumSquares);
        var norm = 0.0;
        for (var t = 0; t < z.Length; t++)
        {
            z[t] *= scale;
            norm += z[t] * z[t];
        }

        return norm;
    }
}
