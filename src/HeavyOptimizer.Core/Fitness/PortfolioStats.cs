using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Fitness;

/// <summary>The hot-path form of <see cref="SeriesStats.Of(ReadOnlySpan{double})"/> for a portfolio being searched.</summary>
internal static class PortfolioStats
{
    /// <summary>
    /// Statistics of the series sums[t] / divisor (a portfolio's mean return from its column sums, held in the
    /// model's <see cref="RowLayout"/> order). Figures are taken on the sums and divided once at the end (drawdown,
    /// sums and counts scale with a positive divisor); gains and losses are summed with SIMD, and only when the metric
    /// needs them (<paramref name="distribution"/>). Agrees with the reference scan to rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static SeriesStats Of(ReadOnlySpan<double> sums, double divisor, bool distribution, RowLayout layout)
    {
        SeriesStats s = default;
        var (equity, maxDd) = layout.Drawdown(sums);
        s.Sum = equity / divisor;
        s.MaxDrawdown = maxDd / divisor;
        if (!distribution)
        {
            return s;
        }

        ref var r0 = ref MemoryMarshal.GetReference(sums);
        var gains = Vector<double>.Zero;
        var losses = Vector<double>.Zero;
        var wins = Vector<long>.Zero;
        var lossCount = Vector<long>.Zero;
        var i = 0;
        for (; i <= sums.Length - Vector<double>.Count; i += Vector<double>.Count)
        {
            var r = Vector.LoadUnsafe(ref r0, (nuint)i);
            gains += Vector.Max(r, Vector<double>.Zero);
            losses += Vector.Min(r, Vector<double>.Zero);
            wins -= Vector.GreaterThan(r, Vector<double>.Zero);
            lossCount -= Vector.LessThan(r, Vector<double>.Zero);
        }

        s.GainSum = Vector.Sum(gains);
        s.LossSum = Vector.Sum(losses);
        s.Wins = (int)Vector.Sum(wins);
        s.Losses = (int)Vector.Sum(lossCount);
        for (; i < sums.Length; i++)
        {
            var r = Unsafe.Add(ref r0, i);
            s.GainSum += Math.Max(r, 0);
            s.LossSum += Math.Min(r, 0);
            s.Wins += r > 0 ? 1 : 0;
            s.Losses += r < 0 ? 1 : 0;
        }

        s.GainSum /= divisor;
        s.LossSum /= divisor;
        return s;
    }
}
