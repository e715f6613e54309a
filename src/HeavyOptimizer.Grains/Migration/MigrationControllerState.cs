using System.Text.Json.Serialization;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The migration controller's state. The settings part (config, checkpoints, last-known-good, where the window began)
/// is stored, as one small row; the audit log and the job outcomes live in their own tables, and the figures derived
/// from the outcomes (the window, the counters) are rebuilt from theirs when the controller activates, so recording an
/// outcome rewrites nothing. The Orleans ids are those of the state earlier builds kept in Orleans' storage, read once
/// to carry it over.
/// </summary>
// Only the members with an id are Orleans' (earlier builds' state, read once); the others are deliberately not.
#pragma warning disable ORLEANS0004
[GenerateSerializer]
[Alias("hopt.MigrationControllerState")]
public sealed class MigrationControllerState
#pragma warning restore ORLEANS0004
{
    /// <summary>The settings in force.</summary>
    [Id(0)] public MigrationConfig Config { get; set; } = new();

    /// <summary>Earlier builds' audit log, kept whole in the state; carried into the audit table once, never written here again.</summary>
    [Id(1)] [JsonIgnore] public List<AuditEntry> LegacyAudit { get; set; } = [];

    /// <summary>Named snapshots of the settings.</summary>
    [Id(2)] public Dictionary<string, MigrationConfig> Checkpoints { get; set; } = [];

    /// <summary>The most recent settings under which enough jobs ran clean.</summary>
    [Id(3)] public MigrationConfig? LastKnownGood { get; set; }

    /// <summary>Outcomes earlier builds counted without keeping them (so <see cref="JobsRecorded"/> carries on from theirs).</summary>
    [Id(7)] public long RecordedBefore { get; set; }

    /// <summary>The config version of the last phase change: outcomes of jobs routed before it stay out of the window.</summary>
    [Id(8)] public int WindowSince { get; set; }

    /// <summary>When the last phase change happened.</summary>
    [Id(9)] public DateTimeOffset? WindowStartedAt { get; set; }

    /// <summary>The outcome record number at the last phase change: unrouted outcomes recorded after it are in the window.</summary>
    [Id(11)] public long WindowFromRecord { get; set; }

    /// <summary>How each checkpoint was taken ("#12, 2026-12-01 10:00:00Z by alice"), for the refusal to overwrite it.</summary>
    [Id(12)] public Dictionary<string, string> CheckpointTaken { get; set; } = [];

    /// <summary>Backfill verdicts since the last rollback, one per original job (the latest <see cref="MigrationPolicy.BackfillJobsKept"/>).</summary>
    public BackfillSummary Backfill { get; set; } = BackfillSummary.Empty;

    /// <summary>The automatic rollout, running or the last one (stored with the settings, so it survives restarts).</summary>
    public Rollout? Rollout { get; set; }

    /// <summary>The job outcomes since the last phase change (oldest first), bounded; rebuilt from the outcome table.</summary>
    [JsonIgnore] public List<JobOutcome> Window { get; set; } = [];

    /// <summary>The active rollout step's outcomes, counted (<see cref="Migration.StepTally"/>); rebuilt from the outcome table.</summary>
    [JsonIgnore] public StepTally? StepTally { get; set; }

    /// <summary>Clean jobs completed under the current config version (for last-known-good); rebuilt from the outcome table.</summary>
    [JsonIgnore] public int CleanJobsThisVersion { get; set; }

    /// <summary>Whether a job under the current version has failed or mismatched; rebuilt from the outcome table.</summary>
    [JsonIgnore] public bool TroubleThisVersion { get; set; }

    /// <summary>Job outcomes recorded since the cluster began (the record number of the latest).</summary>
    [JsonIgnore] public long JobsRecorded { get; set; }

    /// <summary>The sequence number of the latest audit entry.</summary>
    [JsonIgnore] public long LastAuditSequence { get; set; }

    /// <summary>The audit entries this change made, to be stored with it.</summary>
    [JsonIgnore] public List<AuditEntry> NewAudit { get; set; } = [];

    /// <summary>A copy to change, swapped in only once it is stored.</summary>
    public MigrationControllerState Clone() => new()
    {
        Config = Config,
        Checkpoints = new Dictionary<string, MigrationConfig>(Checkpoints),
        LastKnownGood = LastKnownGood,
        RecordedBefore = RecordedBefore,
        WindowSince = WindowSince,
        WindowStartedAt = WindowStartedAt,
        WindowFromRecord = WindowFromRecord,
        CheckpointTaken = new Dictionary<string, string>(CheckpointTaken),
        Rollout = Rollout,
        Backfill = Backfill,
        Window = [.. Window],
        StepTally = StepTally,
        CleanJobsThisVersion = CleanJobsThisVersion,
        TroubleThisVersion = TroubleThisVersion,
        JobsRecorded = JobsRecorded,
        LastAuditSequence = LastAuditSequence,
    };

    /// <summary>True when the stored part differs from <paramref name="other"/>'s (so a change must be written).</summary>
    public bool StoredPartDiffers(MigrationControllerState other) =>
        NewAudit.Count > 0 || Config != other.Config || LastKnownGood != other.LastKnownGood || WindowSince != other.WindowSince
        || WindowStartedAt != other.WindowStartedAt || Rollout != other.Rollout || Backfill != other.Backfill || WindowFromRecord != other.WindowFromRecord || RecordedBefore != other.RecordedBefore
        || !Checkpoints.SequenceEqual(other.Checkpoints) || !CheckpointTaken.SequenceEqual(other.CheckpointTaken);
}
