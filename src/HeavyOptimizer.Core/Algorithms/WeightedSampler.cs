namespace HeavyOptimizer.Core.Algorithms;

/// <summary>
/// Draws portfolios of distinct strategies with probabilities proportional to per-strategy weights: prefix sums
/// built once per weight update, a binary search per draw, duplicates redrawn (after many redraws, the rest is
/// filled uniformly so a weight vector concentrated on fewer than N strategies cannot stall).
/// </summary>
internal sealed class WeightedSampler(int universe)
{
    private readonly double[] _prefix = new double[universe];
    private readonly bool[] _taken = new bool[universe];

    /// <summary>Loads non-negative weights (one per strategy).</summary>
    public void Load(ReadOnlySpan<double> weights)
    {
        var sum = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            sum += weights[i];
            _prefix[i] = sum;
        }
    }

    /// <summary>Fills <paramref name="members"/> with distinct strategies drawn by weight.</summary>
    public void Sample(Span<int> members, Rng rng)
    {
        var total = _prefix[^1];
        var n = 0;
        var attempts = 0;
        while (n < members.Length)
        {
            int s;
            if (total > 0 && attempts++ < 50 * members.Length)
            {
                s = Array.BinarySearch(_prefix, rng.NextDouble() * total);
                s = s < 0 ? ~s : s;
                s = Math.Min(s, _prefix.Length - 1);
            }
            else
            {
                s = rng.Next(_prefix.Length);
            }

            if (!_taken[s])
            {
                _taken[s] = true;
                members[n++] = s;
            }
        }

        foreach (var m in members)
        {
            _taken[m] = false;
        }
    }
}
