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
    Task<MigrationConfig> GetConfig();

    /// <summary>Where the job <paramref name="jobId"/> runs under the settings in force.</summary>
    [Alias("RouteFor")]
    Task<Route> RouteFor(string jobId);

    /// <summary>Changes phase; refused by the guards unless <paramref name="force"/>.</summary>
    [Alias("SetPhase")]
    Task<AuditEntry> SetPhase(MigrationPhase phase, bool force, string who, string why);

    /// <summary>Replaces the settings with imported ones; a phase change is guarded unless <paramref name="force"/>.</summary>
    [Alias("Import")]
    Task<AuditEntry> Import(MigrationConfig config, bool force, string who, string why);

    /// <summary>Sets the Parquet traffic percentage.</summary>
    [Alias("SetTraffic")]
    Task<AuditEntry> SetTraffic(int percent, string who, string why);

    /// <summary>Turns dual-write on or off.</summary>
    [Alias("SetDualWrite")]
    Task<AuditEntry> SetDualWrite(bool on, string who, string why);

    /// <summary>Takes a backend out of or back into service.</summary>
    [Alias("SetBackendDisabled")]
    Task<AuditEntry> SetBackendDisabled(string backend, bool disabled, string who, string why);

    /// <summary>Saves the settings under a name.</summary>
    [Alias("Checkpoint")]
    Task<AuditEntry> Checkpoint(string name, string who, string why);

    /// <summary>Restores a checkpoint or <c>last-known-good</c>.</summary>
    [Alias("RollbackTo")]
    Task<AuditEntry> RollbackTo(string name, string who, string why);

    /// <summary>heavydb_only, dual-write off, traffic 0, in one step.</summary>
    [Alias("EmergencyRollback")]
    Task<AuditEntry> EmergencyRollback(string who, string why);

    /// <summary>Records a job's outcome; may roll back automatically (returned).</summary>
    [Alias("Record")]
    Task<AuditEntry?> Record(JobOutcome outcome);

    /// <summary>Settings, per-backend statistics, match rate, recent audit.</summary>
    [Alias("GetStatus")]
    Task<MigrationStatus> GetStatus(int auditEntries);

    /// <summary>The audit log, oldest first.</summary>
    [Alias("GetAudit")]
    Task<IReadOnlyList<AuditEntry>> GetAudit();
}
