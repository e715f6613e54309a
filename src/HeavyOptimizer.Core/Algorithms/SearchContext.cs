using System.Diagnostics;
using System.Runtime.CompilerServices;
using HeavyOptimizer.Core.Fitness;

namespace HeavyOptimizer.Core.Algorithms;

/// <summary>Where a search stands, as reported to progress listeners.</summary>
/// <param name="Algorithm">Algorithm code (GA, PSO, ...).</param>
/// <param name="Size">Portfolio size being searched.</param>
/// <param name="Evaluations">Evaluations so far.</param>
/// <param name="BestFitness">Best fitness so far.</param>
/// <param name="Fraction">Share of the budget (evaluations or time) used, 0..1.</param>
public sealed record SearchProgress(string Algorithm, int Size, long Evaluations, double BestFitness, double Fraction);

/// <summary>
/// What one search run sees: the fitness model, its random stream, its budget and the best portfolio found so far.
/// Every evaluation goes through here, so budgets, cancellation, progress and best-tracking are enforced in one
/// place for all algorithms.
/// </summary>
public sealed class SearchContext
{
    private const long MaxClockCheckInterval = 256;
    private static readonly long ClockCheckTicks = Stopwatch.Frequency / 1000;
    private static readonly long ProgressInterval = Stopwatch.Frequency / 5;
    private readonly long _maxEvaluations;
    private readonly long _deadlineTicks;
    private readonly long _startTicks;
    private readonly CancellationToken _cancellation;
    private readonly Action<SearchProgress>? _progress;
    private readonly bool[] _scratchFlags;
    private long _nextClockCheck;
    private long _lastCheckTicks;
    private long _lastCheckEvaluations;
    private long _lastProgressTicks;
    private bool _outOfTime;

    internal SearchContext(
        string algorithm, FitnessModel model, int size, ulong seed, AlgorithmParameters parameters,
        long maxEvaluations, TimeSpan? timeSlice, CancellationToken cancellation, Action<SearchProgress>? progress)
    {
        Algorithm = algorithm;
        Model = model;
        Size = size;
        Rng = new Rng(seed);
        Parameters = parameters;
        Scorer = new PortfolioScorer(model);
        _maxEvaluations = maxEvaluations;
        _startTicks = Stopwatch.GetTimestamp();
        _deadlineTicks = timeSlice is { } slice ? _startTicks + (long)(slice.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        _cancellation = cancellation;
        _progress = progress;
        _scratchFlags = new bool[model.Count];
        _lastProgressTicks = _startTicks;
        _lastCheckTicks = _startTicks;
        BestMembers = new int[size];
    }

    /// <summary>Code of the running algorithm.</summary>
    public string Algorithm { get; }

    /// <summary>The fitness model.</summary>
    public FitnessModel Model { get; }

    /// <summary>Strategies in the universe.</summary>
    public int Universe => Model.Count;

    /// <summary>Portfolio size.</summary>
    public int Size { get; }

    /// <summary>This run's random stream.</summary>
    public Rng Rng { get; }

    /// <summary>Full evaluation without counting, for algorithms that need it (e.g. heuristics).</summary>
    internal PortfolioScorer Scorer { get; }

    /// <summary>Parameters with overrides applied.</summary>
    public AlgorithmParameters Parameters { get; }

    /// <summary>Evaluations spent (full and incremental alike).</summary>
    public long Evaluations { get; private set; }

    /// <summary>Best fitness seen.</summary>
    public double BestFitness { get; private set; } = double.NegativeInfinity;

    /// <summary>Members of the best portfolio seen.</summary>
    public int[] BestMembers { get; }

    /// <summary>Share of the budget used: evaluations over the budget, or time over the time slice.</summary>
    public double Fraction
    {
        get
        {
            var byEvaluations = _maxEvaluations == long.MaxValue ? 0 : (double)Evaluations / _maxEvaluations;
            var byTime = _deadlineTicks == long.MaxValue ? 0
                : (double)(Stopwatch.GetTimestamp() - _startTicks) / (_deadlineTicks - _startTicks);
            return Math.Clamp(Math.Max(byEvaluations, byTime), 0, 1);
        }
    }

    /// <summary>True once the budget or the time slice is spent, or the run was cancelled.</summary>
    public bool ShouldStop => Evaluations >= _maxEvaluations || _outOfTime || _cancellation.IsCancellationRequested;

    /// <summary>Full evaluation of a portfolio, counted and offered as a best candidate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Evaluate(ReadOnlySpan<int> members)
    {
        var fitness = Scorer.Evaluate(members);
        Count();
        Offer(members, fitness);
        return fitness;
    }

    /// <summary>Incremental evaluation of a swap, counted; commit it and <see cref="Offer"/> the result if it is kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double TrySwap(SwapState state, int slot, int incoming)
    {
        ArgumentNullException.ThrowIfNull(state);
        var fitness = state.TrySwap(slot, incoming);
        Count();
        return fitness;
    }

    /// <summary>Makes a swap state hold <paramref name="members"/> (a full evaluation, counted).</summary>
    public void Reset(SwapState state, ReadOnlySpan<int> members)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Reset(members);
        Count();
        Offer(members, state.Fitness);
    }

    /// <summary>Records <paramref name="members"/> as the best portfolio if <paramref name="fitness"/> beats the best.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Offer(ReadOnlySpan<int> members, double fitness)
    {
        if (fitness > BestFitness)
        {
            BestFitness = fitness;
            members.CopyTo(BestMembers);
        }
    }

    /// <summary>Fills <paramref name="members"/> with a uniformly random portfolio of distinct strategies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void RandomPortfolio(Span<int> members)
    {
        for (var i = 0; i < members.Length; i++)
        {
            int s;
            do
            {
                s = Rng.Next(Universe);
            }
            while (_scratchFlags[s]);
            _scratchFlags[s] = true;
            members[i] = s;
        }

        foreach (var m in members)
        {
            _scratchFlags[m] = false;
        }
    }

    /// <summary>A uniformly random strategy that is not in <paramref name="state"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int RandomOutsider(SwapState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        int s;
        do
        {
            s = Rng.Next(Universe);
        }
        while (state.Contains(s));
        return s;
    }

    /// <summary>A uniformly random strategy not in <paramref name="members"/> (linear scan; for small portfolios).</summary>
    public int RandomOutsider(ReadOnlySpan<int> members)
    {
        int s;
        do
        {
            s = Rng.Next(Universe);
        }
        while (members.Contains(s));
        return s;
    }

    internal void ReportFinal() => _progress?.Invoke(new SearchProgress(Algorithm, Size, Evaluations, BestFitness, 1));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Count()
    {
        Evaluations++;
        if (Evaluations < _nextClockCheck)
        {
            return;
        }

        // Look at the clock about once a millisecond, however long an evaluation takes for this algorithm.
        var now = Stopwatch.GetTimestamp();
        var done = Evaluations - _lastCheckEvaluations;
        var elapsed = Math.Max(1, now - _lastCheckTicks);
        _nextClockCheck = Evaluations + Math.Clamp(done * ClockCheckTicks / elapsed, 1, MaxClockCheckInterval);
        _lastCheckTicks = now;
        _lastCheckEvaluations = Evaluations;
        _outOfTime = now >= _deadlineTicks;
        if (_progress is not null && now - _lastProgressTicks >= ProgressInterval)
        {
            _lastProgressTicks = now;
            _progress(new SearchProgress(Algorithm, Size, Evaluations, BestFitness, Fraction));
        }
    }
}
