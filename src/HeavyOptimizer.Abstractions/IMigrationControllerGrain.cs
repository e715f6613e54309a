using Orleans.Concurrency;

namespace HeavyOptimizer.Abstractions;

/// <summary>
/// The migration controller (one per cluster, key <see cref="SingletonKey"/>): the settings every job is routed by,
/// changed live, guarded, audited.
/// </summary>
[Alias("hopt.IMigrationControllerGrain")]
public interface IMigrationControllerGrain : IGrainWithStringKey
{
    /// <summary>The key of the cluster's one controller.</summary>
    const string SingletonKey = "migration";

    /// <summary>The settings in force.</summary>
    [Alias("GetConfig")]
    [ReadOnly]
    Task<MigrationConfig> GetConfig();

    /// <summary>Where the job <paramref name="jobId"/> runs under the settings in force.</summary>
    [Alias("RouteFor")]
    [ReadOnly]
    Task<Route> RouteFor(string jobId);

    /// <summary>
    /// Moves to <paramref name="phase"/> with the settings the runbook pairs with it. One step forward needs its guard
    /// (refused with <see cref="MigrationGuardException"/> unless <paramref name="force"/>), skipping a phase needs
    /// <paramref name="force"/>, moving back is always allowed. With <paramref name="countBackfill"/>, the cut_over
    /// guard counts clean backfill comparisons beside clean dual-write jobs (audited as such), and any backfill
    /// mismatch refuses it.
    /// </summary>
    [Alias("SetPhase")]
    Task<AuditEntry> SetPhase(MigrationPhase phase, bool force, string who, string why, bool countBackfill = false);

    /// <summary>
    /// Applies an ini file in the operators' production_config.ini shape as one target state, checked whole (the
    /// phase move by the same rules as <see cref="SetPhase"/>): all of it, or nothing. An unknown key or section is an
    /// error unless <paramref name="allowUnknown"/>.
    /// </summary>
    [Alias("ImportIni")]
    Task<ImportOutcome> ImportIni(string ini, bool force, bool allowUnknown, string who, string why);

    /// <summary>Sets the Parquet traffic percentage; only in cut_over.</summary>
    [Alias("SetTraffic")]
    Task<AuditEntry> SetTraffic(int percent, string who, string why);

    /// <summary>Turns dual-write on or off; only in cut_over (dual_write always mirrors, the others never do).</summary>
    [Alias("SetDualWrite")]
    Task<AuditEntry> SetDualWrite(bool on, string who, string why);

    /// <summary>Turns the comparison of dual-write jobs on or off and, when <paramref name="strict"/> is given, its strict mode.</summary>
    [Alias("SetValidation")]
    Task<AuditEntry> SetValidation(bool on, bool? strict, string who, string why);

    /// <summary>The settings, checkpoints and last-known-good settings, for a backup.</summary>
    [Alias("Backup")]
    Task<MigrationBackup> Backup();

    /// <summary>
    /// Restores a backup's settings, checkpoints and last-known-good in one audited step (settings ahead of today's
    /// phase need their guard or <paramref name="force"/>); the audit log is appended to, never replaced.
    /// </summary>
    [Alias("Restore")]
    Task<AuditEntry> Restore(MigrationBackup backup, bool force, string who, string why);

    /// <summary>Applies the legacy runbook's rollback checkpoint (1.1..3.2) in one audited step.</summary>
    [Alias("RollbackToPreset")]
    Task<AuditEntry> RollbackToPreset(string id, bool force, string who, string why);

    /// <summary>Takes a backend out of service for new jobs, or back in; the one backend a single-backend phase runs on only with <paramref name="force"/>.</summary>
    [Alias("SetBackendDisabled")]
    Task<AuditEntry> SetBackendDisabled(string backend, bool disabled, bool force, string who, string why);

    /// <summary>Saves the settings under a name; an existing name needs <paramref name="replace"/>.</summary>
    [Alias("Checkpoint")]
    Task<AuditEntry> Checkpoint(string name, bool replace, string who, string why);

    /// <summary>Restores a checkpoint or <c>last-known-good</c>; a phase move forward is guarded like any other unless <paramref name="force"/>.</summary>
    [Alias("RollbackTo")]
    Task<AuditEntry> RollbackTo(string name, bool force, string who, string why);

    /// <summary>heavydb_only, dual-write off, traffic 0, in one step.</summary>
    [Alias("EmergencyRollback")]
    Task<AuditEntry> EmergencyRollback(string who, string why);

    /// <summary>
    /// Starts an automatic progressive rollout (from dual_write, whose first step is the guarded move into cut_over, or
    /// from cut_over); every step and its outcome is audited. Refused while another is running or paused.
    /// </summary>
    [Alias("StartRollout")]
    Task<AuditEntry> StartRollout(RolloutPlan plan, string who, string why);

    /// <summary>Holds the rollout at its current step.</summary>
    [Alias("PauseRollout")]
    Task<AuditEntry> PauseRollout(string who, string why);

    /// <summary>Resumes a paused rollout (after a manual gate: promotes to the next step).</summary>
    [Alias("ResumeRollout")]
    Task<AuditEntry> ResumeRollout(string who, string why);

    /// <summary>Stops the rollout and restores the settings from before its current step.</summary>
    [Alias("AbortRollout")]
    Task<AuditEntry> AbortRollout(string who, string why);

    /// <summary>Appends a refused call to the audit (the silo's authorisation filter does; nothing changes).</summary>
    [Alias("AuditRefusal")]
    Task AuditRefusal(string who, string what, string why);

    /// <summary>Records a backfill comparison (a shadow run of a completed job, <c>hopt validate</c>); it never enters the live window.</summary>
    [Alias("RecordBackfill")]
    Task RecordBackfill(JobOutcome outcome);

    /// <summary>Records a job's outcome; may roll back automatically (returned).</summary>
    [Alias("Record")]
    Task<AuditEntry?> Record(JobOutcome outcome);

    /// <summary>Settings, per-backend statistics, match rate, recent audit.</summary>
    [Alias("GetStatus")]
    [ReadOnly]
    Task<MigrationStatus> GetStatus(int auditEntries);

    /// <summary>
    /// A page of the audit log, oldest first: the entries after sequence <paramref name="after"/>, or the latest
    /// <paramref name="limit"/> when it is null; only those at or after <paramref name="since"/> when given.
    /// </summary>
    [Alias("GetAudit")]
    [ReadOnly]
    Task<IReadOnlyList<AuditEntry>> GetAudit(long? after, DateTimeOffset? since, int limit);
}
