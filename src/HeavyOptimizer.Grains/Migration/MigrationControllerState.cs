using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>Everything the migration controller persists.</summary>
[GenerateSerializer]
[Alias("hopt.MigrationControllerState")]
public sealed class MigrationControllerState
{
    /// <summary>The settings in force.</summary>
    [Id(0)] public MigrationConfig Config { get; set; } = new();

    /// <summary>Append-only log of every change.</summary>
    [Id(1)] public List<AuditEntry> Audit { get; set; } = [];

    /// <summary>Named snapshots of the settings.</summary>
    [Id(2)] public Dictionary<string, MigrationConfig> Checkpoints { get; set; } = [];

    /// <summary>The most recent settings under which enough jobs ran clean.</summary>
    [Id(3)] public MigrationConfig? LastKnownGood { get; set; }

    /// <summary>The job outcomes since the last phase change (oldest first), bounded.</summary>
    [Id(4)] public List<JobOutcome> Window { get; set; } = [];

    /// <summary>Clean jobs completed under the current config version (for last-known-good).</summary>
    [Id(5)] public int CleanJobsThisVersion { get; set; }

    /// <summary>Whether a job under the current version has failed or mismatched.</summary>
    [Id(6)] public bool TroubleThisVersion { get; set; }

    /// <summary>Job outcomes recorded since the cluster began (the window keeps only the latest).</summary>
    [Id(7)] public long JobsRecorded { get; set; }

    /// <summary>The config version of the last phase change: outcomes of jobs routed before it stay out of the window.</summary>
    [Id(8)] public int WindowSince { get; set; }

    /// <summary>When the last phase change happened.</summary>
    [Id(9)] public DateTimeOffset? WindowStartedAt { get; set; }

    /// <summary>The ids of the latest jobs recorded (oldest first, bounded), so that a job's second outcome is ignored.</summary>
    [Id(10)] public List<string> RecentJobIds { get; set; } = [];

    /// <summary>A copy to change, swapped in only once it is stored.</summary>
    public MigrationControllerState Clone() => new()
    {
        Config = Config,
        Audit = [.. Audit],
        Checkpoints = new Dictionary<string, MigrationConfig>(Checkpoints),
        LastKnownGood = LastKnownGood,
        Window = [.. Window],
        CleanJobsThisVersion = CleanJobsThisVersion,
        TroubleThisVersion = TroubleThisVersion,
        JobsRecorded = JobsRecorded,
        WindowSince = WindowSince,
        WindowStartedAt = WindowStartedAt,
        RecentJobIds = [.. RecentJobIds],
    };
}
