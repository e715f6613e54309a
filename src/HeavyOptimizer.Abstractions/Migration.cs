namespace HeavyOptimizer.Abstractions;

/// <summary>The migration phases operators already use (SPEC section 9).</summary>
[GenerateSerializer]
[Alias("hopt.MigrationPhase")]
public enum MigrationPhase
{
    /// <summary>Every job on HeavyDB.</summary>
    HeavyDbOnly = 0,

    /// <summary>Jobs on the primary, mirrored to the secondary and compared.</summary>
    DualWrite = 1,

    /// <summary>A percentage of jobs on Parquet, chosen deterministically by job id.</summary>
    CutOver = 2,

    /// <summary>Every job on Parquet.</summary>
    ParquetOnly = 3,
}

/// <summary>The migration settings the controller holds; one version per change.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.MigrationConfig")]
public sealed record MigrationConfig
{
    /// <summary>Phase.</summary>
    [Id(0)] public MigrationPhase Phase { get; init; } = MigrationPhase.HeavyDbOnly;

    /// <summary>Backend whose result is authoritative outside cut-over.</summary>
    [Id(1)] public string PrimaryBackend { get; init; } = "heavydb";

    /// <summary>Backend mirrored in dual-write.</summary>
    [Id(2)] public string SecondaryBackend { get; init; } = "parquet";

    /// <summary>enable_dual_write.</summary>
    [Id(3)] public bool DualWrite { get; init; }

    /// <summary>validation_enabled: compare primary and secondary.</summary>
    [Id(4)] public bool ValidationEnabled { get; init; } = true;

    /// <summary>rollback_on_validation_failure.</summary>
    [Id(5)] public bool RollbackOnValidationFailure { get; init; } = true;

    /// <summary>traffic_percentage_parquet, 0..100.</summary>
    [Id(6)] public int TrafficPercentParquet { get; init; }

    /// <summary>enable_strict_validation: tolerances of 0.</summary>
    [Id(7)] public bool StrictValidation { get; init; }

    /// <summary>Backends taken out of service.</summary>
    [Id(8)] public IReadOnlyList<string> DisabledBackends { get; init; } = [];

    /// <summary>Increases with every change; routing is a function of job id and this version's settings.</summary>
    [Id(9)] public int Version { get; init; }

    /// <summary>
    /// gpu_enabled: Parquet metrics are computed on a silo that advertises a GPU (CUDA through ILGPU) when there is one;
    /// false keeps them on the CPU, on any silo.
    /// </summary>
    [Id(10)] public bool GpuEnabled { get; init; } = true;

    /// <summary>log_backend_performance: every job logs each backend's timings (ingest, load, search, metrics, total).</summary>
    [Id(12)] public bool LogBackendPerformance { get; init; } = true;
}

/// <summary>
/// Where one job runs: the authoritative backend, the mirrored one (if any), and the settings it was decided under
/// (config version, phase, Parquet traffic, whether to compare, strictly, and whether Parquet may use a GPU).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.Route")]
public sealed record Route(
    [property: Id(0)] string Primary,
    [property: Id(1)] string? Secondary,
    [property: Id(2)] int ConfigVersion,
    [property: Id(3)] bool Validate,
    [property: Id(4)] MigrationPhase Phase = MigrationPhase.HeavyDbOnly,
    [property: Id(5)] int TrafficPercent = 0,
    [property: Id(6)] bool Strict = false,
    [property: Id(7)] bool Gpu = true,
    [property: Id(8)] bool LogPerformance = false);

/// <summary>
/// One change of the migration settings (or one refused call): who (the caller's verified identity when the cluster
/// has identities), when, why, before and after, and a note (what the caller claimed to be with <c>--who</c>, or
/// "unauthenticated" when the cluster runs without identities).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Who,
    [property: Id(3)] string Action,
    [property: Id(4)] string Why,
    [property: Id(5)] MigrationConfig Before,
    [property: Id(6)] MigrationConfig After,
    [property: Id(7)] string? Note = null);

/// <summary>
/// How a job went, as reported to the controller for its statistics and automatic rollback: its primary backend, the
/// job's wall time (<see cref="Seconds"/>, which includes the search the requester chose), the time spent in the
/// backend itself (<see cref="BackendSeconds"/>: ingest, read-back, metrics), the failure's cause when it failed, and
/// the route it ran on.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobOutcome")]
public sealed record JobOutcome(
    [property: Id(0)] string JobId,
    [property: Id(1)] string Backend,
    [property: Id(2)] bool Succeeded,
    [property: Id(3)] double Seconds,
    [property: Id(4)] bool? ConsistencyPassed,
    [property: Id(5)] double? ResultVariance,
    [property: Id(6)] DateTimeOffset At,
    [property: Id(7)] FailureCause? Cause = null,
    [property: Id(8)] Route? Route = null,
    [property: Id(9)] double? BackendSeconds = null)
{
    /// <summary>True when the job failed through its backend: the only failures that count against one.</summary>
    public bool BackendFailure => !Succeeded && Cause == FailureCause.Backend;

    /// <summary>True when the job tells of its backend: it succeeded, or failed for the backend's or our own fault (not its input's).</summary>
    public bool TellsOfBackend => Succeeded || Cause is FailureCause.Backend or FailureCause.Internal;
}

/// <summary>
/// Per-backend figures over the window (the outcomes since the last phase change): jobs, backend-cause failures
/// (<see cref="BackendErrors"/>, the only ones in <see cref="ErrorRate"/>), failures of other causes, job runtime
/// percentiles, and the 95th percentile of the time spent in the backend itself (what the runtime rollback reads).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.BackendStats")]
public sealed record BackendStats(
    [property: Id(0)] string Backend,
    [property: Id(1)] int Jobs,
    [property: Id(2)] int BackendErrors,
    [property: Id(3)] double ErrorRate,
    [property: Id(4)] double P50Seconds,
    [property: Id(5)] double P95Seconds,
    [property: Id(6)] int InputFailures = 0,
    [property: Id(7)] int OtherFailures = 0,
    [property: Id(8)] double P95BackendSeconds = 0);

/// <summary>
/// The controller's state for <c>hopt status</c> and the dashboard. <see cref="DualWriteJobs"/> counts the jobs whose
/// outputs were compared; <see cref="MatchRate"/> is null until one was. <see cref="NextPhase"/> says what the next
/// forward phase move needs and how much of it the window holds.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.MigrationStatus")]
public sealed record MigrationStatus(
    [property: Id(0)] MigrationConfig Config,
    [property: Id(1)] IReadOnlyList<BackendStats> Backends,
    [property: Id(2)] int DualWriteJobs,
    [property: Id(3)] int CleanDualWriteJobs,
    [property: Id(4)] double? MatchRate,
    [property: Id(5)] IReadOnlyList<AuditEntry> RecentAudit,
    [property: Id(6)] IReadOnlyList<string> Checkpoints,
    [property: Id(7)] long JobsRecorded = 0,
    [property: Id(8)] string? NextPhase = null,
    [property: Id(9)] DateTimeOffset? WindowSince = null,
    [property: Id(10)] string? Security = null,
    [property: Id(11)] QueueSummary? Queue = null,
    [property: Id(12)] Rollout? Rollout = null,
    [property: Id(13)] BackfillSummary? Backfill = null);

/// <summary>
/// Backfill comparisons since the last rollback (<c>hopt validate</c>; kept across forward phase moves): shadow runs of completed jobs on the
/// candidate backend, compared with a rerun on the other. <see cref="Verdicts"/> holds each original job's latest
/// verdict (match, mismatch, failed: the shadow run did not finish), so validating a job again replaces its verdict
/// and no job counts twice.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.BackfillSummary")]
public sealed record BackfillSummary([property: Id(0)] IReadOnlyDictionary<string, string> Verdicts)
{
    /// <summary>Verdict words.</summary>
    public const string Match = "match", Mismatch = "mismatch", Failed = "failed";

    /// <summary>None yet.</summary>
    public static BackfillSummary Empty { get; } = new(new Dictionary<string, string>());

    /// <summary>Jobs compared (matched or not).</summary>
    public int Compared => Verdicts.Values.Count(v => v != Failed);

    /// <summary>Jobs compared and found the same.</summary>
    public int Matched => Verdicts.Values.Count(v => v == Match);

    /// <summary>Jobs compared and found different.</summary>
    public int Mismatched => Verdicts.Values.Count(v => v == Mismatch);

    /// <summary>Jobs whose shadow run did not finish.</summary>
    public int FailedRuns => Verdicts.Values.Count(v => v == Failed);
}

/// <summary>What a settings import applied: the audit entry and notes on keys that were recognised but have no effect (or unknown and allowed).</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.ImportOutcome")]
public sealed record ImportOutcome([property: Id(0)] AuditEntry Entry, [property: Id(1)] IReadOnlyList<string> Notes);

/// <summary>The operators' names of the phases.</summary>
public static class MigrationPhases
{
    private static readonly (MigrationPhase Phase, string Name)[] Table =
    [
        (MigrationPhase.HeavyDbOnly, "heavydb_only"),
        (MigrationPhase.DualWrite, "dual_write"),
        (MigrationPhase.CutOver, "cut_over"),
        (MigrationPhase.ParquetOnly, "parquet_only"),
    ];

    /// <summary>heavydb_only, dual_write, cut_over or parquet_only.</summary>
    public static string Name(MigrationPhase phase) => Table.First(e => e.Phase == phase).Name;

    /// <summary>Parses an operators' phase name (any case); throws <see cref="FormatException"/> naming the choices.</summary>
    public static MigrationPhase Parse(string text)
    {
        foreach (var (phase, name) in Table)
        {
            if (string.Equals(name, text?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return phase;
            }
        }

        throw new FormatException($"'{text}' is not heavydb_only, dual_write, cut_over or parquet_only");
    }
}

/// <summary>
/// The migration state an operator backs up (<c>hopt backup</c>) and restores (<c>hopt restore</c>): the settings, the
/// named checkpoints and the last-known-good settings. The backup file also carries the audit log, which a restore
/// never replaces (it appends the restore to it).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.MigrationBackup")]
public sealed record MigrationBackup(
    [property: Id(0)] MigrationConfig Config,
    [property: Id(1)] IReadOnlyDictionary<string, MigrationConfig> Checkpoints,
    [property: Id(2)] MigrationConfig? LastKnownGood,
    [property: Id(3)] DateTimeOffset TakenAt);
