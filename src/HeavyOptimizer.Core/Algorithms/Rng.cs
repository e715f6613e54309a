using System.Numerics;
using System.Runtime.CompilerServices;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// xoshiro256** seeded through SplitMix64: fast, and its sequence for a seed is fixed by this code rather than by
/// the runtime's <see cref="Random"/>, so a seed reproduces a search on every .NET version.
/// </summary>
public sealed class Rng
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Seeds the generator.</summary>
    public Rng(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>Mixes several values into one seed (for per-algorithm streams derived from a job seed).</summary>
    public static ulong Derive(ulong seed, params ReadOnlySpan<ulong> parts)
    {
        var state = seed;
        foreach (var p in parts)
        {
            state ^= SplitMix(ref state) + p;
        }

        return SplitMix(ref state);
    }

    /// <summary>Next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ulong NextUInt64()
    {
        var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform integer in [0, <paramref name="bound"/>) (Lemire's method, no modulo bias).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Next(int bound)
    {
        var m = (UInt128)NextUInt64() * (ulong)bound;
        var low = (ulong)m;
        if (low < (ulong)bound)
        {
            var threshold = (ulong)-(long)bound % (ulong)bound;
            while (low < threshold)
            {
                m = (UInt128)NextUInt64() * (ulong)bound;
                low = (ulong)m;
            }
        }

        return (int)(m >> 64);
    }

    /// <summary>Uniform double in [0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
