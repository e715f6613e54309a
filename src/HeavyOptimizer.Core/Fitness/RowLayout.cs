using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeavyOptimizer.Core.Fitness;

/// <summary>
/// The order in which the fitness model stores each strategy's rows: the series is cut into one segment per SIMD
/// lane, and the segments are interleaved (row k of every segment side by side), with rows that do not divide evenly
/// at the end. Sums and dot products do not care about row order, and in this order the drawdown scan, which is
/// sequential within a segment, runs all segments at once in one vector: one load and five vector operations per
/// step instead of a chain of dependent scalar additions.
/// </summary>
internal sealed class RowLayout
{
    public RowLayout(int rows)
    {
        Rows = rows;
        Lanes = rows >= 4 * Vector<double>.Count ? Vector<double>.Count : 1;
        Steps = rows / Lanes;
        Order = new int[rows];
        for (var k = 0; k < Steps; k++)
        {
            for (var lane = 0; lane < Lanes; lane++)
            {
                Order[k * Lanes + lane] = lane * Steps + k;
            }
        }

        for (var t = Steps * Lanes; t < rows; t++)
        {
            Order[t] = t;
        }
    }

    public int Rows { get; }

    /// <summary>Segments scanned side by side (the vector width, or 1 for short series).</summary>
    public int Lanes { get; }

    /// <summary>Rows per segment; the rows left over belong to the last segment.</summary>
    public int Steps { get; }

    /// <summary>Order[stored position] = natural row.</summary>
    public int[] Order { get; }

    /// <summary>Copies a naturally ordered series into stored order.</summary>
    public void Store(ReadOnlySpan<double> natural, Span<double> stored)
    {
        for (var i = 0; i < Order.Length; i++)
        {
            stored[i] = natural[Order[i]];
        }
    }

    /// <summary>Copies a stored series back into natural order.</summary>
    public void Restore(ReadOnlySpan<double> stored, Span<double> natural)
    {
        for (var i = 0; i < Order.Length; i++)
        {
            natural[Order[i]] = stored[i];
        }
    }

    /// <summary>Final equity and max drawdown of a series held in stored order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (double Equity, double MaxDrawdown) Drawdown(ReadOnlySpan<double> stored)
    {
        if (Lanes == 1)
        {
            return Sequential(stored);
        }

        ref var x0 = ref MemoryMarshal.GetReference(stored);
        var e = Vector<double>.Zero;
        var p = new Vector<double>(double.NegativeInfinity);
        var d = Vector<double>.Zero;
        var m = new Vector<double>(double.PositiveInfinity);
        for (var k = 0; k < Steps; k++)
        {
            e += Vector.LoadUnsafe(ref x0, (nuint)(k * Lanes));
            p = Vector.Max(p, e);
            d = Vector.Max(d, p - e);
            m = Vector.Min(m, e);
        }

        // Merge the segments in row order: a segment after a prefix with end E and peak P has drawdown
        // max(its own, P - E - its lowest equity), and the prefix's peak becomes max(P, E + its peak).
        double equity = e[0], peak = p[0], dd = d[0];
        for (var lane = 1; lane < Lanes - 1; lane++)
        {
            Merge(ref equity, ref peak, ref dd, e[lane], p[lane], d[lane], m[lane]);
        }

        // The last segment continues with the leftover rows.
        double el = e[Lanes - 1], pl = p[Lanes - 1], dl = d[Lanes - 1], ml = m[Lanes - 1];
        for (var t = Steps * Lanes; t < stored.Length; t++)
        {
            el += Unsafe.Add(ref x0, t);
            pl = Math.Max(pl, el);
            dl = Math.Max(dl, pl - el);
            ml = Math.Min(ml, el);
        }

        Merge(ref equity, ref peak, ref dd, el, pl, dl, ml);
        return (equity, dd);
    }

    private static (double Equity, double MaxDrawdown) Sequential(ReadOnlySpan<double> series)
    {
        double equity = 0, peak = double.NegativeInfinity, dd = 0;
        foreach (var r in series)
        {
            equity += r;
            peak = Math.Max(peak, equity);
            dd = Math.Max(dd, peak - equity);
        }

        return (equity, dd);
    }

    private static void Merge(ref double equity, ref double peak, ref double dd, double end, double localPeak, double localDd, double localMin)
    {
        dd = Math.Max(dd, Math.Max(localDd, peak - equity - localMin));
        peak = Math.Max(peak, equity + localPeak);
        equity += end;
    }
}
