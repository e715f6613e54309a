using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Ulta;

namespace HeavyOptimizer.Core.Optimization;

/// <summary>What to optimise and how. Defaults are the operators' settings of SPEC sections 3-6.</summary>
public sealed record OptimizationRequest
{
    /// <summary>Smallest portfolio size (10..100 for a job); default 35.</summary>
    public int MinSize { get; init; } = 35;

    /// <summary>Largest portfolio size; equal to <see cref="MinSize"/> for a single size.</summary>
    public int MaxSize { get; init; } = 35;

    /// <summary>Algorithms to run, in table order; default all eight.</summary>
    public IReadOnlyList<SearchAlgorithm> Algorithms { get; init; } = SearchAlgorithms.All;

    /// <summary>Per-algorithm parameter overrides, keyed by algorithm code then parameter name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Parameters { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Scoring.</summary>
    public FitnessOptions Fitness { get; init; } = FitnessOptions.Default;

    /// <summary>Whether the ULTA inversion runs first; default off.</summary>
    public bool Ulta { get; init; }

    /// <summary>ULTA options.</summary>
    public UltaOptions UltaOptions { get; init; } = new();

    /// <summary>Seed of every random stream; the same seed, input and parameters give the same result without a time limit.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Wall-clock budget of the search; when set, algorithms run until it is spent instead of to their evaluation budget.</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>The preset the budgets come from (<see cref="SearchPresets"/>), recorded in the output.</summary>
    public string Preset { get; init; } = SearchPresets.Legacy;

    /// <summary>The multiple of the preset's work, recorded in the output.</summary>
    public double Effort { get; init; } = 1;

    /// <summary>Evaluation budgets by algorithm code (the default preset's), used where <see cref="MaxEvaluations"/> is not given.</summary>
    public IReadOnlyDictionary<string, long>? Budgets { get; init; }

    /// <summary>Evaluation budget per algorithm and size, overriding the one the parameters imply.</summary>
    public long? MaxEvaluations { get; init; }

    /// <summary>
    /// Evaluations of the local-search polish of the winner (<see cref="LocalSearch"/>), on each of the worker threads
    /// from the best portfolios found; 0 for none. With a time limit, the polish gets <see cref="PolishTimeShare"/> of it.
    /// </summary>
    public long PolishEvaluations { get; init; }

    /// <summary>How many of the best distinct portfolios are polished, each on its own thread with its own seed (fixed, so results do not depend on the machine).</summary>
    public int PolishStarts { get; init; } = 2;

    /// <summary>The share of a time limit the polish gets (0 for none).</summary>
    public double PolishTimeShare { get; init; }

    /// <summary>Worker threads; default the processor count.</summary>
    public int? Parallelism { get; init; }

    /// <summary>Periods per year for annualised figures; default 252.</summary>
    public double PeriodsPerYear { get; init; } = Metrics.SeriesMetrics.DefaultPeriodsPerYear;

    /// <summary>Name of the data backend that supplied the matrix, recorded in the output.</summary>
    public string Backend { get; init; } = "core";

    /// <summary>Checks ranges; throws <see cref="ArgumentException"/> with the offending setting named.</summary>
    public void Validate()
    {
        if (MinSize < 2 || MaxSize < MinSize)
        {
            throw new ArgumentException($"portfolio sizes {MinSize}..{MaxSize}: need 2 <= min <= max");
        }

        if (Algorithms.Count == 0)
        {
            throw new ArgumentException("no algorithm selected");
        }

        if (TimeLimit is { } limit && limit <= TimeSpan.Zero)
        {
            throw new ArgumentException($"time limit {limit.TotalSeconds} s: must be positive");
        }

        if (MaxEvaluations is <= 0)
        {
            throw new ArgumentException($"evaluation budget {MaxEvaluations}: must be positive");
        }

        if (!double.IsFinite(Fitness.PenaltyWeight))
        {
            throw new ArgumentException("penalty weight must be a finite number");
        }

        foreach (var code in Parameters.Keys)
        {
            if (!code.Equals("LS", StringComparison.OrdinalIgnoreCase) && !SearchAlgorithms.All.Any(a => a.Code.Equals(code, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"parameters given for unknown algorithm '{code}'");
            }
        }
    }

    /// <summary>The parameters of <paramref name="algorithm"/> with this request's overrides.</summary>
    public AlgorithmParameters ParametersOf(SearchAlgorithm algorithm)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        return new AlgorithmParameters(algorithm.Code, algorithm.Defaults, Parameters.GetValueOrDefault(algorithm.Code));
    }
}
