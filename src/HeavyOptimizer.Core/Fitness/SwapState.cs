using System.Runtime.CompilerServices;
using HeavyOptimizer.Core.Metrics;

namespace HeavyOptimizer.Core.Fitness;

/// <summary>
/// A current portfolio with its column sums kept up to date, so that the fitness after swapping one member for a
/// non-member costs one pass over the rows instead of a full evaluation. Not thread-safe.
/// </summary>
public sealed class SwapState
{
    private const int CommitsBetweenRefresh = 4096;
    private readonly FitnessModel _model;
    private readonly PortfolioScorer _scorer;
    private readonly int[] _members;
    private readonly bool[] _isMember;
    private readonly double[] _sums;
    private readonly double[] _zSums;
    private readonly double[] _candidate;
    private double _normSquared;
    private int _commits;

    /// <summary>Creates the state for portfolios of <paramref name="size"/> members; call <see cref="Reset"/> before use.</summary>
    public SwapState(FitnessModel model, int size)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _scorer = new PortfolioScorer(model);
        _members = new int[size];
        _isMember = new bool[model.Count];
        _sums = new double[model.Rows];
        _zSums = new double[model.Rows];
        _candidate = new double[model.Rows];
    }

    /// <summary>The current members, in slot order.</summary>
    public ReadOnlySpan<int> Members => _members;

    /// <summary>The current fitness.</summary>
    public double Fitness { get; private set; }

    /// <summary>Portfolio size.</summary>
    public int Size => _members.Length;

    /// <summary>Whether <paramref name="strategy"/> is a current member.</summary>
    public bool Contains(int strategy) => _isMember[strategy];

    /// <summary>Makes <paramref name="members"/> the current portfolio and evaluates it in full.</summary>
    public void Reset(ReadOnlySpan<int> members)
    {
        foreach (var m in _members)
        {
            _isMember[m] = false;
        }

        members.CopyTo(_members);
        var offsets = new int[_members.Length];
        _normSquared = 0;
        for (var i = 0; i < _members.Length; i++)
        {
            _isMember[_members[i]] = true;
            offsets[i] = _members[i] * _model.Rows;
            _normSquared += _model.ZNormSquared(_members[i]);
        }

        Vectors.SumColumns(_model.Values, _model.Z, offsets, _sums, _zSums);
        _commits = 0;
        Fitness = _scorer.Evaluate(_members);
    }

    /// <summary>Fitness of the portfolio with the member in <paramref name="slot"/> replaced by the non-member <paramref name="incoming"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double TrySwap(int slot, int incoming)
    {
        var rows = _model.Rows;
        var outgoing = _members[slot];
        var values = _model.Values;
        var z = _model.Z;
        var zNorm = Vectors.Swap(_sums, _zSums, values, z, incoming * rows, outgoing * rows, _candidate);
        var normSquared = _normSquared - _model.ZNormSquared(outgoing) + _model.ZNormSquared(incoming);
        var stats = PortfolioStats.Of(_candidate, _members.Length, _model.NeedsDistribution, _model.Layout);
        return _model.Score(stats, _members.Length, zNorm - normSquared);
    }

    /// <summary>Applies the swap; the fitness is recomputed in full now and then so rounding cannot drift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Commit(int slot, int incoming, double fitness)
    {
        var rows = _model.Rows;
        var outgoing = _members[slot];
        Vectors.AddDifference(_sums, _model.Values.AsSpan(incoming * rows, rows), _model.Values.AsSpan(outgoing * rows, rows));
        Vectors.AddDifference(_zSums, _model.Z.AsSpan(incoming * rows, rows), _model.Z.AsSpan(outgoing * rows, rows));
        _normSquared += _model.ZNormSquared(incoming) - _model.ZNormSquared(outgoing);
        _isMember[outgoing] = false;
        _isMember[incoming] = true;
        _members[slot] = incoming;
        Fitness = fitness;
        if (++_commits >= CommitsBetweenRefresh)
        {
            Reset(_members);
        }
    }
}
