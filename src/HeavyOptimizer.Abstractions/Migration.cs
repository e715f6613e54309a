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

    /// <summary>gpu_enabled: backend grains prefer silos that advertise a GPU.</summary>
    [Id(10)] public bool GpuEnabled { get; init; } = true;

    /// <summary>track_migration_metrics.</summary>
    [Id(11)] public bool TrackMigrationMetrics { get; init; } = true;

    /// <summary>log_backend_performance.</summary>
    [Id(12)] public bool LogBackendPerformance { get; init; } = true;

    /// <summary>deployment_environment: blue (HeavyDB) or green (Parquet).</summary>
    [Id(13)] public string DeploymentEnvironment { get; init; } = "blue";
}

/// <summary>Where one job runs: the authoritative backend, the mirrored one (if any), and the config version decided under.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.Route")]
public sealed record Route([property: Id(0)] string Primary, [property: Id(1)] string? Secondary, [property: Id(2)] int ConfigVersion, [property: Id(3)] bool Validate);

/// <summary>One change of the migration settings: who, when, why, before and after.</summary>
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
    [property: Id(6)] MigrationConfig After);

/// <summary>How a job went, as reported to the controller for its statistics and automatic rollback.</summary>
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
    [property: Id(6)] DateTimeOffset At);

/// <summary>Per-backend figures over the recent window.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.BackendStats")]
public sealed record BackendStats(
    [property: Id(0)] string Backend,
    [property: Id(1)] int Jobs,
    [property: Id(2)] int Errors,
    [property: Id(3)] double ErrorRate,
    [property: Id(4)] double P50Seconds,
    [property: Id(5)] double P95Seconds);

/// <summary>The controller's state for <c>hopt status</c> and the dashboard.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.MigrationStatus")]
public sealed record MigrationStatus(
    [property: Id(0)] MigrationConfig Config,
    [property: Id(1)] IReadOnlyList<BackendStats> Backends,
    [property: Id(2)] int DualWriteJobs,
    [property: Id(3)] int CleanDualWriteJobs,
    [property: Id(4)] double MatchRate,
    [property: Id(5)] IReadOnlyList<AuditEntry> RecentAudit,
    [property: Id(6)] IReadOnlyList<string> Checkpoints,
    [property: Id(7)] long JobsRecorded = 0);

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
