using System.CommandLine;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Grains.Jobs;

namespace HeavyOptimizer.Admin;

/// <summary>
/// What a search may be asked to do, as options: one definition for <c>hopt optimize</c> and <c>hopt submit</c>, read
/// into a <see cref="JobSpec"/> and validated once by <see cref="JobRequests"/>, as the cluster validates it.
/// </summary>
internal sealed class SearchOptions
{
    public Option<int> Size { get; } = new("--portfolio-size", "-n")
    {
        Description = $"Portfolio size, {JobRequests.MinPortfolioSize}..{JobRequests.MaxPortfolioSize}",
        DefaultValueFactory = _ => 35,
    };

    public Option<int?> MinSize { get; } = new("--min-size") { Description = "Smallest size of a size range (with --max-size; instead of -n)" };

    public Option<int?> MaxSize { get; } = new("--max-size") { Description = "Largest size of a size range (with --min-size)" };

    public Option<string?> Algorithms { get; } = new("--algorithms") { Description = "Comma-separated codes: ga,pso,sa,de,aco,hc,bo,rs (default all)" };

    public Option<string> Metric { get; } = new("--metric") { Description = $"Base metric: {string.Join(" | ", FitnessMetrics.Names)}", DefaultValueFactory = _ => "ratio" };

    public Option<double> Penalty { get; } = new("--penalty-weight") { Description = "Weight of the mean pairwise correlation", DefaultValueFactory = _ => 10 };

    public Option<double> Threshold { get; } = new("--drawdown-threshold") { Description = "Halve the penalty below this max drawdown", DefaultValueFactory = _ => 0 };

    public Option<bool> Ulta { get; } = new("--ulta") { Description = "Invert losing strategies first (ULTA)" };

    public Option<bool> UltaGates { get; } = new("--ulta-gates") { Description = "Apply ULTA's extra gates (ROI < 0, >= 10 and >= 60 % negative rows)" };

    public Option<ulong> Seed { get; } = new("--seed") { Description = "Random seed", DefaultValueFactory = _ => 42 };

    public Option<double?> TimeLimit { get; } = new("--time-limit")
    {
        Description = "Search for this many seconds instead of the evaluation budgets (not reproducible); with --max-evaluations, whichever ends first",
    };

    public Option<long?> MaxEvaluations { get; } = new("--max-evaluations") { Description = "Evaluation budget per algorithm and size (with --time-limit, whichever ends first)" };

    public Option<string?> Preset { get; } = new("--preset")
    {
        Description = "Budgets: default (fixed evaluations and a local-search polish: strong and reproducible) or legacy (the operators' SPEC section 6 settings)",
    };

    public Option<double?> Effort { get; } = new("--effort") { Description = "A multiple of the default preset's work, e.g. 5 for five times the evaluations (0.01..100)" };

    public Option<string[]> Parameters { get; } = new("--param")
    {
        Description = "Parameter override ALG.NAME=VALUE, e.g. ga.population=50 (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Size, MinSize, MaxSize, Algorithms, Metric, Penalty, Threshold, Ulta, UltaGates, Seed, TimeLimit, MaxEvaluations, Preset, Effort, Parameters })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The request the options describe, over <paramref name="input"/>, checked and in canonical form.</summary>
    public JobSpec Read(ParseResult parse, string input)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var (min, max) = (parse.GetValue(MinSize), parse.GetValue(MaxSize)) switch
        {
            (null, null) => (parse.GetValue(Size), (int?)null),
            ({ } a, { } b) when parse.GetResult(Size) is null or { Implicit: true } => (a, b),
            ({ }, { }) => throw new ArgumentException("--portfolio-size and --min-size/--max-size: give one or the other"),
            _ => throw new ArgumentException("--min-size and --max-size go together"),
        };
        var metric = parse.GetValue(Metric)!;
        return JobRequests.Normalize(new JobSpec
        {
            InputPath = input,
            PortfolioSize = min,
            MaxPortfolioSize = max,
            Seed = parse.GetValue(Seed),
            Algorithms = parse.GetValue(Algorithms),
            Metric = FitnessMetrics.Parse(metric) == FitnessMetric.Ratio ? null : metric,
            PenaltyWeight = parse.GetValue(Penalty) == FitnessOptions.Default.PenaltyWeight ? null : parse.GetValue(Penalty),
            DrawdownThreshold = parse.GetValue(Threshold) == 0 ? null : parse.GetValue(Threshold),
            Ulta = parse.GetValue(Ulta),
            UltaGates = parse.GetValue(UltaGates),
            TimeLimitSeconds = parse.GetValue(TimeLimit),
            MaxEvaluations = parse.GetValue(MaxEvaluations),
            Parameters = string.Join(';', parse.GetValue(Parameters) ?? []),
            Preset = parse.GetValue(Preset),
            Effort = parse.GetValue(Effort),
        });
    }
}
