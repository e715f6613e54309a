using System.Runtime.CompilerServices;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Fitness;

/// <summary>
/// Full evaluation of portfolios against one <see cref="FitnessModel"/>. Not thread-safe: it owns scratch
/// buffers so that an evaluation allocates nothing; give each thread its own.
/// </summary>
public sealed class PortfolioScorer(FitnessModel model)
{
    private readonly double[] _sums = new double[model.Rows];
    private readonly double[] _zSums = new double[model.Rows];
    private int[] _offsets = new int[16];

    /// <summary>The model scored against.</summary>
    public FitnessModel Model { get; } = model;

    /// <summary>
    /// Fitness of the portfolio <paramref name="members"/> (distinct strategy indices), summed in the order given.
    /// Different orders of one set agree to rounding; pass them in ascending order for the canonical value (every
    /// reported fitness is computed that way, so it is a function of the set alone, bit for bit).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Evaluate(ReadOnlySpan<int> members)
    {
        var stats = Accumulate(members, out var pairSumTwice);
        return Model.Score(stats, members.Length, pairSumTwice);
    }

    /// <summary>Fitness with its parts, for reports.</summary>
    public FitnessBreakdown Explain(ReadOnlySpan<int> members)
    {
        var stats = Accumulate(members, out var pairSumTwice);
        var n = members.Length;
        var series = new double[Model.Rows];
        Model.Layout.Restore(_sums, series);
        for (var t = 0; t < series.Length; t++)
        {
            series[t] /= n;
        }

        return new FitnessBreakdown(
            Model.Score(stats, n, pairSumTwice),
            Model.BaseMetric(stats),
            n > 1 ? pairSumTwice / ((double)n * (n - 1)) : 0,
            series);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SeriesStats Accumulate(ReadOnlySpan<int> members, out double pairSumTwice)
    {
        if (members.IsEmpty)
        {
            throw new ArgumentException("a portfolio needs at least one strategy", nameof(members));
        }

        if (_offsets.Length < members.Length)
        {
            _offsets = new int[members.Length];
        }

        var offsets = _offsets.AsSpan(0, members.Length);
        members.CopyTo(offsets);
        var normSquared = 0.0;
        for (var i = 0; i < offsets.Length; i++)
        {
            normSquared += Model.ZNormSquared(offsets[i]);
            offsets[i] *= Model.Rows;
        }

        Vectors.SumColumns(Model.Values, Model.Z, offsets, _sums, _zSums);
        pairSumTwice = Vectors.Dot(_zSums, _zSums) - normSquared;
        return PortfolioStats.Of(_sums, members.Length, Model.NeedsDistribution, Model.Layout);
    }
}

/// <summary>A portfolio's fitness, its base metric, its mean pairwise correlation and its (mean) return series.</summary>
public sealed record FitnessBreakdown(double Fitness, double BaseMetric, double MeanCorrelation, double[] Series);
