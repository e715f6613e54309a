using System.Globalization;
using System.Text.RegularExpressions;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Fitness;
using HeavyOptimizer.Core.Optimization;
using HeavyOptimizer.Core.Ulta;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>
/// The one definition of what a job may ask for, shared by <c>hopt optimize</c>, <c>hopt submit</c>, the job grain and
/// the share ingress: job ids, the portfolio-size rule, limits on budgets and parameters, and the translation of a
/// <see cref="JobSpec"/> into the engine's <see cref="OptimizationRequest"/>. Every refusal is an
/// <see cref="InvalidJobException"/> naming the field.
/// </summary>
public static partial class JobRequests
{
    /// <summary>The smallest portfolio a job may ask for (SPEC section 3).</summary>
    public const int MinPortfolioSize = 10;

    /// <summary>The largest portfolio a job may ask for (SPEC section 3).</summary>
    public const int MaxPortfolioSize = 100;

    /// <summary>The longest search a job may ask for: a day.</summary>
    public const double MaxTimeLimitSeconds = 86_400;

    /// <summary>The largest evaluation budget per algorithm and size a job may ask for.</summary>
    public const long MaxEvaluations = 10_000_000_000;

    /// <summary>The largest value of a count parameter (population, iterations, ...): keeps one job from exhausting a silo's memory.</summary>
    public const double MaxParameter = 100_000;

    /// <summary>
    /// Throws unless <paramref name="jobId"/> is 1..128 of A-Z a-z 0-9 . _ -, not all dots (it names files: run
    /// directories, share answers).
    /// </summary>
    public static void ValidateId(string? jobId)
    {
        if (string.IsNullOrEmpty(jobId) || !JobId().IsMatch(jobId) || jobId.Trim('.').Length == 0)
        {
            var shown = jobId is null ? "(none)" : jobId.Length > 40 ? $"'{jobId[..40]}...' ({jobId.Length} characters)" : $"'{jobId}'";
            throw new InvalidJobException("job_id", $"job id {shown}: use 1..128 of A-Z a-z 0-9 . _ -, not only dots");
        }
    }

    /// <summary>
    /// <paramref name="spec"/> checked whole and in canonical form (algorithms, metric and parameters written one way),
    /// so that two requests for the same work compare equal; the input's location is checked by <see cref="InputRoots"/>.
    /// </summary>
    public static JobSpec Normalize(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var request = ToRequest(spec);
        if (string.IsNullOrWhiteSpace(spec.InputPath))
        {
            throw new InvalidJobException("input", "no input file");
        }

        if (spec.BackendOverride is not (null or "heavydb" or "parquet"))
        {
            throw new InvalidJobException("backend", $"backend '{spec.BackendOverride}': heavydb or parquet");
        }

        if (spec.ReplayOf is not null)
        {
            ValidateId(spec.ReplayOf);
        }

        if (spec.ShadowOf is not null)
        {
            ValidateId(spec.ShadowOf);
        }

        if (spec.Algorithms is { } listed && string.IsNullOrWhiteSpace(listed))
        {
            throw new InvalidJobException("algorithms", "no algorithm listed: name some of ga,pso,sa,de,aco,hc,bo,rs, or leave the list out for all eight");
        }

        if (spec.UltaGates && !spec.Ulta)
        {
            throw new InvalidJobException("ulta_gates", "ULTA's gates without ULTA do nothing: ask for ULTA too (--ulta), or leave the gates out");
        }

        return spec with
        {
            Algorithms = request.Algorithms.Count == SearchAlgorithms.All.Count ? null : string.Join(",", request.Algorithms.Select(a => a.Code.ToLowerInvariant())),
            Metric = spec.Metric is null ? null : request.Fitness.Metric.Name(),
            Parameters = FormatParameters(request.Parameters),
            Preset = request.Preset == SearchPresets.Default ? null : request.Preset,
            Effort = request.Effort == 1 ? null : request.Effort,
        };
    }

    /// <summary>The engine's request for <paramref name="spec"/>; throws <see cref="InvalidJobException"/> naming what is out of range.</summary>
    public static OptimizationRequest ToRequest(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var (min, max) = (spec.PortfolioSize, spec.MaxPortfolioSize ?? spec.PortfolioSize);
        if (min is < MinPortfolioSize or > MaxPortfolioSize || max is < MinPortfolioSize or > MaxPortfolioSize || max < min)
        {
            throw new InvalidJobException("portfolio_size", min == max
                ? $"portfolio size {min}: a job takes {MinPortfolioSize}..{MaxPortfolioSize}"
                : $"portfolio sizes {min}..{max}: a job takes {MinPortfolioSize} <= min <= max <= {MaxPortfolioSize}");
        }

        if (spec.TimeLimitSeconds is { } limit && (!double.IsFinite(limit) || limit <= 0 || limit > MaxTimeLimitSeconds))
        {
            throw new InvalidJobException("time_limit", $"time limit {limit.ToString(CultureInfo.InvariantCulture)} s: more than 0 and at most {MaxTimeLimitSeconds:F0}");
        }

        if (spec.MaxEvaluations is { } evaluations && evaluations is <= 0 or > MaxEvaluations)
        {
            throw new InvalidJobException("max_evaluations", $"evaluation budget {evaluations}: 1..{MaxEvaluations}");
        }

        if (spec.PenaltyWeight is { } weight && (!double.IsFinite(weight) || weight < 0))
        {
            throw new InvalidJobException("penalty_weight", $"penalty weight {weight.ToString(CultureInfo.InvariantCulture)}: a finite number, at least 0");
        }

        if (spec.DrawdownThreshold is { } threshold && (!double.IsFinite(threshold) || threshold < 0))
        {
            throw new InvalidJobException("drawdown_threshold", $"drawdown threshold {threshold.ToString(CultureInfo.InvariantCulture)}: a finite number, at least 0");
        }

        try
        {
            var request = new OptimizationRequest
            {
                MinSize = min,
                MaxSize = max,
                Seed = spec.Seed,
                Algorithms = SearchAlgorithms.Parse(spec.Algorithms),
                Fitness = new FitnessOptions
                {
                    Metric = spec.Metric is null ? FitnessMetric.Ratio : FitnessMetrics.Parse(spec.Metric),
                    PenaltyWeight = spec.PenaltyWeight ?? FitnessOptions.Default.PenaltyWeight,
                    DrawdownThreshold = spec.DrawdownThreshold ?? FitnessOptions.Default.DrawdownThreshold,
                },
                Ulta = spec.Ulta,
                UltaOptions = new UltaOptions { ApplyGates = spec.UltaGates },
                MaxEvaluations = spec.MaxEvaluations,
                TimeLimit = spec.TimeLimitSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                Parameters = ParseParameters(spec.Parameters),
            };
            request = SearchPresets.Apply(request, spec.Preset, spec.Effort ?? 1);
            request.Validate();
            return request;
        }
        catch (ArgumentException e)
        {
            throw new InvalidJobException(FieldOf(e.Message), e.Message);
        }
    }

    /// <summary>
    /// Parses <c>alg.name=value</c> overrides separated by ';' (or given one by one) into per-algorithm values, each
    /// checked against the algorithm's parameters: an unknown algorithm or name, or a value outside 0..<see cref="MaxParameter"/>, is an error.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> ParseParameters(string? text)
    {
        var byAlgorithm = new Dictionary<string, Dictionary<string, double>>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in (text ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            var dot = item.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || equals < dot + 2
                || !double.TryParse(item[(equals + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                throw new ArgumentException($"parameter '{item}': expected ALGORITHM.NAME=NUMBER, e.g. ga.population=50");
            }

            if (value > MaxParameter)
            {
                throw new ArgumentException($"parameter '{item}': at most {MaxParameter:F0}");
            }

            var algorithm = item[..dot].ToLowerInvariant();
            if (!byAlgorithm.TryGetValue(algorithm, out var values))
            {
                byAlgorithm[algorithm] = values = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
            }

            values[item[(dot + 1)..equals].ToLowerInvariant()] = value;
        }

        var parsed = byAlgorithm.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double>)kv.Value, StringComparer.OrdinalIgnoreCase);
        foreach (var code in parsed.Keys)
        {
            var algorithm = SearchAlgorithms.All.FirstOrDefault(a => a.Code.Equals(code, StringComparison.OrdinalIgnoreCase))
                            ?? throw new ArgumentException($"parameters given for unknown algorithm '{code}'");
            _ = new AlgorithmParameters(algorithm.Code, algorithm.Defaults, parsed[code]);
        }

        return parsed;
    }

    /// <summary>The canonical text of parsed parameters (sorted, invariant numbers), or null when there are none.</summary>
    public static string? FormatParameters(IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var items = parameters.OrderBy(a => a.Key, StringComparer.Ordinal)
            .SelectMany(a => a.Value.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{a.Key.ToLowerInvariant()}.{p.Key.ToLowerInvariant()}={p.Value.ToString("R", CultureInfo.InvariantCulture)}"))
            .ToList();
        return items.Count == 0 ? null : string.Join(";", items);
    }

    private static string FieldOf(string message) =>
        message.StartsWith("unknown metric", StringComparison.Ordinal) ? "metric"
        : message.StartsWith("unknown algorithm", StringComparison.Ordinal) || message.StartsWith("no algorithm", StringComparison.Ordinal) ? "algorithms"
        : "parameters";

    [GeneratedRegex("^[A-Za-z0-9._-]{1,128}$")]
    private static partial Regex JobId();
}
