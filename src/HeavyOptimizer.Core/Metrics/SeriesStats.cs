using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeavyOptimizer.Core.Metrics;

/// <summary>
/// The one-pass sufficient statistics of a return series from which every fitness base metric follows.
/// The portfolio evaluator fills one per evaluation, so this is a plain struct with no allocation.
/// </summary>
public struct SeriesStats
{
    /// <summary>Sum of returns (ROI).</summary>
    public double Sum;

    /// <summary>Max drawdown, peaks taken from the first equity value on.</summary>
    public double MaxDrawdown;

    /// <summary>Sum of the positive returns.</summary>
    public double GainSum;

    /// <summary>Sum of the negative returns (a negative number or 0).</summary>
    public double LossSum;

    /// <summary>Rows with a positive return.</summary>
    public int Wins;

    /// <summary>Rows with a negative return.</summary>
    public int Losses;

    /// <summary>
    /// Computes the statistics of <paramref name="returns"/> (at least one row) the plain way, one row after another,
    /// as the legacy tool did: this is the reference the per-strategy metrics use.
    /// </summary>
    public static SeriesStats Of(ReadOnlySpan<double> returns)
    {
        SeriesStats s = default;
        var equity = 0.0;
        var peak = double.NegativeInfinity;
        foreach (var r in returns)
        {
            equity += r;
            peak = Math.Max(peak, equity);
            s.MaxDrawdown = Math.Max(s.MaxDrawdown, peak - equity);
            if (r > 0)
            {
                s.GainSum += r;
                s.Wins++;
            }
            else if (r < 0)
            {
                s.LossSum += r;
                s.Losses++;
            }
        }

        s.Sum = equity;
        return s;
    }

    /// <summary>
    /// The hot-path form for a portfolio: the statistics of the series <paramref name="sums"/>[t] / <paramref name="divisor"/>
    /// (its mean return from its column sums). Figures are taken on the sums and divided once at the end (drawdown,
    /// sums and counts scale with a positive divisor); gains and losses are summed with SIMD, and the drawdown scan runs
    /// as four interleaved segments merged exactly, so it is not one long chain of dependent additions. Agrees with
    /// <see cref="Of(ReadOnlySpan{double})"/> to rounding.
    /// </summary>
    /// <param name="sums">Column sums per row.</param>
    /// <param name="divisor">Number of members.</param>
    /// <param name="distribution">Whether gains, losses and their counts are needed; when false they are left 0.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static SeriesStats OfSums(ReadOnlySpan<double> sums, double divisor, bool distribution = true)
    {
        SeriesStats s = default;
        var (equity, maxDd) = Drawdown(sums);
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

    /// <summary>
    /// Final equity and max drawdown of <paramref name="r"/>, scanning four segments side by side. Each segment keeps
    /// its local end, running peak, drawdown and lowest equity; a segment after a prefix with end E and peak P has
    /// drawdown max(d, P - E - min), and the prefix's peak becomes max(P, E + peak).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double Equity, double MaxDrawdown) Drawdown(ReadOnlySpan<double> r)
    {
        var length = r.Length / 4;
        if (length < 4)
        {
            var single = Of(r);
            return (single.Sum, single.MaxDrawdown);
        }

        ref var x0 = ref MemoryMarshal.GetReference(r);
        ref var x1 = ref Unsafe.Add(ref x0, length);
        ref var x2 = ref Unsafe.Add(ref x0, 2 * length);
        ref var x3 = ref Unsafe.Add(ref x0, 3 * length);
        double e0 = 0, e1 = 0, e2 = 0, e3 = 0;
        double p0 = double.NegativeInfinity, p1 = double.NegativeInfinity, p2 = double.NegativeInfinity, p3 = double.NegativeInfinity;
        double d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        double m1 = double.PositiveInfinity, m2 = double.PositiveInfinity, m3 = double.PositiveInfinity;
        for (var t = 0; t < length; t++)
        {
            e0 += Unsafe.Add(ref x0, t);
            e1 += Unsafe.Add(ref x1, t);
            e2 += Unsafe.Add(ref x2, t);
            e3 += Unsafe.Add(ref x3, t);
            p0 = double.MaxNative(p0, e0);
            p1 = double.MaxNative(p1, e1);
            p2 = double.MaxNative(p2, e2);
            p3 = double.MaxNative(p3, e3);
            d0 = double.MaxNative(d0, p0 - e0);
            d1 = double.MaxNative(d1, p1 - e1);
            d2 = double.MaxNative(d2, p2 - e2);
            d3 = double.MaxNative(d3, p3 - e3);
            m1 = double.MinNative(m1, e1);
            m2 = double.MinNative(m2, e2);
            m3 = double.MinNative(m3, e3);
        }

        // The last segment also takes the remainder rows.
        for (var t = 4 * length; t < r.Length; t++)
        {
            e3 += Unsafe.Add(ref x0, t);
            p3 = double.MaxNative(p3, e3);
            d3 = double.MaxNative(d3, p3 - e3);
            m3 = double.MinNative(m3, e3);
        }

        double equity = e0, peak = p0, dd = d0;
        Merge(ref equity, ref peak, ref dd, e1, p1, d1, m1);
        Merge(ref equity, ref peak, ref dd, e2, p2, d2, m2);
        Merge(ref equity, ref peak, ref dd, e3, p3, d3, m3);
        return (equity, dd);
    }

    private static void Merge(ref double equity, ref double peak, ref double dd, double end, double localPeak, double localDd, double localMin)
    {
        dd = Math.Max(dd, Math.Max(localDd, peak - equity - localMin));
        peak = Math.Max(peak, equity + localPeak);
        equity += end;
    }

    /// <summary>Share of positive rows among <paramref name="rows"/>.</summary>
    public readonly double WinPercentage(int rows) => (double)Wins / rows;

    /// <summary>Expectancy over <paramref name="rows"/> rows (SPEC section 2).</summary>
    public readonly double Expectancy(int rows)
    {
        var w = WinPercentage(rows);
        var avgWin = Wins > 0 ? GainSum / Wins : 0;
        var avgLoss = Losses > 0 ? -LossSum / Losses : 0;
        return w * avgWin - (1 - w) * avgLoss;
    }
}
