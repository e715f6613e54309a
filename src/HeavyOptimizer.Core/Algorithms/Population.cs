namespace HeavyOptimizer.Core.Algorithms;

/// <summary>A set of portfolios with their fitness, for the population-based algorithms.</summary>
internal sealed class Population
{
    public Population(SearchContext context, int count)
    {
        Members = new int[count][];
        Fitness = new double[count];
        for (var i = 0; i < count && (i == 0 || !context.ShouldStop); i++)
        {
            Members[i] = new int[context.Size];
            context.RandomPortfolio(Members[i]);
            Fitness[i] = context.Evaluate(Members[i]);
        }

        for (var i = 0; i < count; i++)
        {
            if (Members[i] is null)
            {
                Members[i] = (int[])Members[0].Clone();
                Fitness[i] = Fitness[0];
            }
        }
    }

    public int[][] Members { get; }

    public double[] Fitness { get; }

    public int Count => Members.Length;

    public int BestIndex()
    {
        var best = 0;
        for (var i = 1; i < Count; i++)
        {
            if (Fitness[i] > Fitness[best])
            {
                best = i;
            }
        }

        return best;
    }
}

/// <summary>Set operations on portfolios held as arrays of distinct strategy indices.</summary>
internal sealed class SubsetScratch(int universe)
{
    private readonly bool[] _inA = new bool[universe];
    private readonly bool[] _inB = new bool[universe];
    private readonly List<int> _onlyA = [];
    private readonly List<int> _onlyB = [];

    /// <summary>
    /// child = the strategies both parents hold, then, slot by slot, a strategy only B holds with probability
    /// <paramref name="fromB"/>, else one only A holds. 0.5 makes uniform subset crossover; DE uses CR, with
    /// <paramref name="forceOneFromB"/> as binomial crossover's guaranteed mutant gene.
    /// </summary>
    public void Cross(ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> child, Rng rng, double fromB, bool forceOneFromB = false)
    {
        Mark(a, _inA, true);
        Mark(b, _inB, true);
        var n = 0;
        _onlyA.Clear();
        _onlyB.Clear();
        foreach (var s in a)
        {
            if (_inB[s])
            {
                child[n++] = s;
            }
            else
            {
                _onlyA.Add(s);
            }
        }

        foreach (var s in b)
        {
            if (!_inA[s])
            {
                _onlyB.Add(s);
            }
        }

        Mark(a, _inA, false);
        Mark(b, _inB, false);
        Shuffle(_onlyA, rng);
        Shuffle(_onlyB, rng);
        var forced = forceOneFromB && _onlyB.Count > 0 ? rng.Next(_onlyB.Count) : -1;
        for (var i = 0; i < _onlyA.Count; i++)
        {
            child[n++] = i == forced || rng.NextDouble() < fromB ? _onlyB[i] : _onlyA[i];
        }
    }

    /// <summary>Replaces the member in a random slot by a random outsider.</summary>
    public static void Mutate(Span<int> members, SearchContext context)
    {
        var slot = context.Rng.Next(members.Length);
        members[slot] = context.RandomOutsider(members);
    }

    /// <summary>Fisher-Yates shuffle.</summary>
    public static void Shuffle(List<int> items, Rng rng)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static void Mark(ReadOnlySpan<int> members, bool[] flags, bool value)
    {
        foreach (var s in members)
        {
            flags[s] = value;
        }
    }
}
