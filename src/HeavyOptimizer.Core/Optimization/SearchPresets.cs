namespace HeavyOptimizer.Core.Optimization;

/// <summary>
/// How much work a run does when it names no budget. <c>default</c>: a fixed number of evaluations per algorithm
/// (identical on every machine, so bit-reproducible) and an iterated-local-search polish of the two best portfolios,
/// chosen so that sensex_2500 at N = 35 scores over 300 for seeds 1-5 in about 3 s on two cores (benchmarks/README.md);
/// with a time limit, the polish gets half of it. <c>legacy</c>: the operators' settings of SPEC section 6, no polish.
/// <c>effort</c> scales the default's budgets (5 = five times the work). An algorithm whose parameters a run sets gets
/// the budget those parameters imply.
/// </summary>
public static class SearchPresets
{
    /// <summary>The strong deterministic default.</summary>
    public const string Default = "default";

    /// <summary>The operators' SPEC section 6 settings.</summary>
    public const string Legacy = "legacy";

    /// <summary>The presets a run may name.</summary>
    public static readonly IReadOnlyList<string> Names = [Default, Legacy];

    /// <summary>Evaluations per algorithm and size at effort 1: each about 0.1-0.4 s on one core here.</summary>
    public static readonly IReadOnlyDictionary<string, long> DefaultBudgets = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase)
    {
        ["GA"] = 60_000, ["PSO"] = 30_000, ["SA"] = 300_000, ["DE"] = 60_000, ["ACO"] = 20_000, ["HC"] = 300_000, ["BO"] = 1_000, ["RS"] = 20_000,
    };

    /// <summary>Evaluations of each of the two polishing local searches at effort 1.</summary>
    public const long DefaultPolish = 6_000_000;

    /// <summary>
    /// <paramref name="request"/> with the budgets of <paramref name="preset"/> (null: default) at <paramref name="effort"/>.
    /// An explicit evaluation budget (<see cref="OptimizationRequest.MaxEvaluations"/>) bounds the polish too.
    /// </summary>
    public static OptimizationRequest Apply(OptimizationRequest request, string? preset, double effort)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = (preset ?? Default).Trim().ToLowerInvariant();
        if (!Names.Contains(name))
        {
            throw new ArgumentException($"preset '{preset}': {string.Join(" or ", Names)}");
        }

        if (!double.IsFinite(effort) || effort is < 0.01 or > 100)
        {
            throw new ArgumentException($"effort {effort}: 0.01..100 (a multiple of the default's work)");
        }

        if (name == Legacy)
        {
            return effort == 1
                ? request with { Preset = Legacy, Effort = 1 }
                : throw new ArgumentException("effort scales the default preset; the legacy preset is the operators' settings as they are");
        }

        return request with
        {
            Preset = Default,
            Effort = effort,
            // An algorithm whose parameters the run sets gets the budget they imply, as in SPEC section 6.
            Budgets = DefaultBudgets.Where(p => !request.Parameters.Keys.Any(k => k.Equals(p.Key, StringComparison.OrdinalIgnoreCase)))
                .ToDictionary(p => p.Key, p => Math.Max(1, (long)Math.Round(p.Value * effort)), StringComparer.OrdinalIgnoreCase),
            PolishEvaluations = Math.Min(request.MaxEvaluations ?? long.MaxValue, Math.Max(1, (long)Math.Round(DefaultPolish * effort))),
            PolishStarts = 2,
            PolishTimeShare = 0.5,
        };
    }
}
