using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeavyOptimizer.Core.Fitness;

/// <summary>The few SIMD loops the evaluators need, over spans of equal length.</summary>
internal static class Vectors
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var acc = Vector<double>.Zero;
        var i = 0;
        for (; i <= a.Length - Vector<double>.Count; i += Vector<double>.Count)
        {
            acc += Vector.LoadUnsafe(ref ra, (nuint)i) * Vector.LoadUnsafe(ref rb, (nuint)i);
        }

        var sum = Vector.Sum(acc);
        for (; i < a.Length; i++)
        {
            sum += Unsafe.Add(ref ra, i) * Unsafe.Add(ref rb, i);
        }

        return sum;
    }

    /// <summary>
    /// sums = sum of the columns of <paramref name="values"/> at <paramref name="offsets"/>, and zSums likewise over
    /// <paramref name="z"/>; blocked over rows so each block's totals stay in registers while the members stream by.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumColumns(double[] values, double[] z, ReadOnlySpan<int> offsets, Span<double> sums, Span<double> zSums)
    {
        var rows = sums.Length;
        var w = Vector<double>.Count;
        ref var v0 = ref MemoryMarshal.GetArrayDataReference(values);
        ref var z0 = ref MemoryMarshal.GetArrayDataReference(z);
        ref var s0 = ref MemoryMarshal.GetReference(sums);
        ref var q0 = ref MemoryMarshal.GetReference(zSums);
        var t = 0;
        for (; t <= rows - 4 * w; t += 4 * w)
        {
            Vector<double> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector<double> c0 = default, c1 = default, c2 = default, c3 = default;
            foreach (var offset in offsets)
            {
                var at = (nuint)(offset + t);
                a0 += Vector.LoadUnsafe(ref v0, at);
                a1 += Vector.LoadUnsafe(ref v0, at + (nuint)w);
                a2 += Vector.LoadUnsafe(ref v0, at + (nuint)(2 * w));
                a3 += Vector.LoadUnsafe(ref v0, at + (nuint)(3 * w));
                c0 += Vector.LoadUnsafe(ref z0, at);
                c1 += Vector.LoadUnsafe(ref z0, at + (nuint)w);
                c2 += Vector.LoadUnsafe(ref z0, at + (nuint)(2 * w));
                c3 += Vector.LoadUnsafe(ref z0, at + (nuint)(3 * w));
            }

            a0.StoreUnsafe(ref s0, (nuint)t);
            a1.StoreUnsafe(ref s0, (nuint)(t + w));
            a2.StoreUnsafe(ref s0, (nuint)(t + 2 * w));
            a3.StoreUnsafe(ref s0, (nuint)(t + 3 * w));
            c0.StoreUnsafe(ref q0, (nuint)t);
            c1.StoreUnsafe(ref q0, (nuint)(t + w));
            c2.StoreUnsafe(ref q0, (nuint)(t + 2 * w));
            c3.StoreUnsafe(ref q0, (nuint)(t + 3 * w));
        }

        for (; t <= rows - w; t += w)
        {
            Vector<double> a = default, c = default;
            foreach (var offset in offsets)
            {
                var at = (nuint)(offset + t);
                a += Vector.LoadUnsafe(ref v0, at);
                c += Vector.LoadUnsafe(ref z0, at);
            }

            a.StoreUnsafe(ref s0, (nuint)t);
            c.StoreUnsafe(ref q0, (nuint)t);
        }

        for (; t < rows; t++)
        {
            double a = 0, c = 0;
            foreach (var offset in offsets)
            {
                a += Unsafe.Add(ref v0, offset + t);
                c += Unsafe.Add(ref z0, offset + t);
            }

            Unsafe.Add(ref s0, t) = a;
            Unsafe.Add(ref q0, t) = c;
        }
    }

    /// <summary>target += plus - minus.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddDifference(Span<double> target, ReadOnlySpan<double> plus, ReadOnlySpan<double> minus)
    {
        ref var rt = ref MemoryMarshal.GetReference(target);
        ref var rp = ref MemoryMarshal.GetReference(plus);
        ref var rm = ref MemoryMarshal.GetReference(minus);
        var i = 0;
        for (; i <= target.Length - Vector<double>.Count; i += Vector<double>.Count)
        {
            var v = Vector.LoadUnsafe(ref rt, (nuint)i) + (Vector.LoadUnsafe(ref rp, (nuint)i) - Vector.LoadUnsafe(ref rm, (nuint)i));
            v.StoreUnsafe(ref rt, (nuint)i);
        }

        for (; i < target.Length; i++)
        {
            Unsafe.Add(ref rt, i) += Unsafe.Add(ref rp, i) - Unsafe.Add(ref rm, i);
        }
    }

    /// <summary>
    /// One pass of a swap: candidate = sums + values[plus..] - values[minus..], and returns
    /// ||zSums + z[plus..] - z[minus..]||^2 without storing that vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Swap(
        ReadOnlySpan<double> sums, ReadOnlySpan<double> zSums, double[] values, double[] z, int plus, int minus, Span<double> candidate)
    {
        var rows = sums.Length;
        ref var s0 = ref MemoryMarshal.GetReference(sums);
        ref var q0 = ref MemoryMarshal.GetReference(zSums);
        ref var c0 = ref MemoryMarshal.GetReference(candidate);
        ref var vp = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(values), plus);
        ref var vm = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(values), minus);
        ref var zp = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(z), plus);
        ref var zm = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(z), minus);
        var acc0 = Vector<double>.Zero;
        var acc1 = Vector<double>.Zero;
        var w = Vector<double>.Count;
        var i = 0;
        for (; i <= rows - 2 * w; i += 2 * w)
        {
            var at = (nuint)i;
            var bt = (nuint)(i + w);
            (Vector.LoadUnsafe(ref s0, at) + (Vector.LoadUnsafe(ref vp, at) - Vector.LoadUnsafe(ref vm, at))).StoreUnsafe(ref c0, at);
            (Vector.LoadUnsafe(ref s0, bt) + (Vector.LoadUnsafe(ref vp, bt) - Vector.LoadUnsafe(ref vm, bt))).StoreUnsafe(ref c0, bt);
            var q = Vector.LoadUnsafe(ref q0, at) + (Vector.LoadUnsafe(ref zp, at) - Vector.LoadUnsafe(ref zm, at));
            var r = Vector.LoadUnsafe(ref q0, bt) + (Vector.LoadUnsafe(ref zp, bt) - Vector.LoadUnsafe(ref zm, bt));
            acc0 += q * q;
            acc1 += r * r;
        }

        var sum = Vector.Sum(acc0 + acc1);
        for (; i < rows; i++)
        {
            Unsafe.Add(ref c0, i) = Unsafe.Add(ref s0, i) + (Unsafe.Add(ref vp, i) - Unsafe.Add(ref vm, i));
            var q = Unsafe.Add(ref q0, i) + (Unsafe.Add(ref zp, i) - Unsafe.Add(ref zm, i));
            sum += q * q;
        }

        return sum;
    }
}
