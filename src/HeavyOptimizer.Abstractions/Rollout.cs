namespace HeavyOptimizer.Abstractions;

/// <summary>
/// What <c>hopt rollout start</c> asks for: the Parquet traffic steps, and what each step's analysis needs before it
/// promotes: at least <see cref="MinJobs"/> Parquet jobs routed at that weight, their backend-cause error rate at most
/// <see cref="MaxErrorRate"/>, their p95 runtime at most <see cref="MaxP95Seconds"/>, and (when given) a dual-write
/// match rate of at least <see cref="MinMatchRate"/>.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.RolloutPlan")]
public sealed record RolloutPlan(
    [property: Id(0)] IReadOnlyList<int> Steps,
    [property: Id(1)] int MinJobs = 20,
    [property: Id(2)] double MaxErrorRate = 0.05,
    [property: Id(3)] double? MaxP95Seconds = null,
    [property: Id(4)] double? MinMatchRate = null,
    [property: Id(5)] bool PauseAfterEach = false,
    [property: Id(6)] bool Complete = false,
    [property: Id(7)] bool CountBackfill = false)
{
    /// <summary>What is wrong with the plan, or null.</summary>
    public string? Problem() =>
        Steps is not { Count: > 0 } ? "--steps: at least one traffic percentage"
        : Steps.Any(s => s is < 1 or > 100) ? $"--steps {string.Join(',', Steps)}: each a percentage, 1..100"
        : Steps.Zip(Steps.Skip(1)).Any(p => p.Second <= p.First) ? $"--steps {string.Join(',', Steps)}: each step above the one before"
        : Complete && Steps[^1] != 100 ? $"--complete needs a last step of 100 (the steps end at {Steps[^1]})"
        : MinJobs is < 1 or > 100_000 ? $"--min-jobs {MinJobs}: 1..100000"
        : MaxErrorRate is < 0 or > 1 || double.IsNaN(MaxErrorRate) ? $"--max-error-rate {MaxErrorRate * 100}: a percentage, 0..100"
        : MaxP95Seconds is <= 0 || MaxP95Seconds is { } p && !double.IsFinite(p) ? $"--max-p95 {MaxP95Seconds}: a positive time"
        : MinMatchRate is < 0 or > 1 || MinMatchRate is { } m && double.IsNaN(m) ? $"--min-match-rate {MinMatchRate * 100}: a percentage, 0..100"
        : null;
}

/// <summary>Where a rollout stands.</summary>
[GenerateSerializer]
[Alias("hopt.RolloutStage")]
public enum RolloutStage
{
    /// <summary>Analysing the current step.</summary>
    Running = 0,

    /// <summary>Held: by an operator, or after a step passed with --pause-after-each (resume promotes).</summary>
    Paused = 1,

    /// <summary>Stopped by its analysis, an operator or a change of the settings by anyone else; traffic back at the step's start.</summary>
    Aborted = 2,

    /// <summary>Every step passed; at 100 % the move to parquet_only is left to a person (unless --complete).</summary>
    Finished = 3,
}

/// <summary>
/// A rollout: its plan, the step it is on (index into the steps), the config version that step began at (only jobs
/// routed at or after it count), when, the settings from before the step (where an abort returns), and the latest
/// analysis in words.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.Rollout")]
public sealed record Rollout(
    [property: Id(0)] RolloutPlan Plan,
    [property: Id(1)] int Step,
    [property: Id(2)] RolloutStage Stage,
    [property: Id(3)] int StepVersion,
    [property: Id(4)] DateTimeOffset StepStartedAt,
    [property: Id(5)] MigrationConfig StepStart,
    [property: Id(6)] string Analysis,
    [property: Id(7)] string StartedBy,
    [property: Id(8)] bool StepPassed = false)
{
    /// <summary>The traffic percentage of the current step.</summary>
    public int Traffic => Plan.Steps[Step];

    /// <summary>True while it can still move (running or paused).</summary>
    public bool Active => Stage is RolloutStage.Running or RolloutStage.Paused;
}
