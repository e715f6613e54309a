using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>The controller grain: <see cref="MigrationPolicy"/> over persistent state, written after every change.</summary>
public sealed class MigrationControllerGrain(
    [PersistentState("migration", "hopt")] IPersistentState<MigrationControllerState> state,
    IOptions<MigrationPolicyOptions> options,
    TimeProvider time) : Grain, IMigrationControllerGrain
{
    private MigrationPolicy Policy => new(state.State, options.Value, time);

    /// <inheritdoc />
    public Task<MigrationConfig> GetConfig() => Task.FromResult(state.State.Config);

    /// <inheritdoc />
    public Task<Route> RouteFor(string jobId) => Task.FromResult(Policy.RouteFor(jobId));

    /// <inheritdoc />
    public Task<AuditEntry> SetPhase(MigrationPhase phase, bool force, string who, string why) => Save(p => p.SetPhase(phase, force, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> Import(MigrationConfig config, bool force, string who, string why) => Save(p => p.Import(config, force, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetTraffic(int percent, string who, string why) => Save(p => p.SetTraffic(percent, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetDualWrite(bool on, string who, string why) => Save(p => p.SetDualWrite(on, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetBackendDisabled(string backend, bool disabled, string who, string why) =>
        Save(p => p.SetBackendDisabled(backend, disabled, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> Checkpoint(string name, string who, string why) => Save(p => p.Checkpoint(name, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> RollbackTo(string name, string who, string why) => Save(p => p.RollbackTo(name, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> EmergencyRollback(string who, string why) => Save(p => p.EmergencyRollback(who, why));

    /// <inheritdoc />
    public async Task<AuditEntry?> Record(JobOutcome outcome)
    {
        var rollback = Policy.Record(outcome);
        await state.WriteStateAsync();
        return rollback;
    }

    /// <inheritdoc />
    public Task<MigrationStatus> GetStatus(int auditEntries) => Task.FromResult(Policy.Status(auditEntries));

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEntry>> GetAudit() => Task.FromResult<IReadOnlyList<AuditEntry>>(state.State.Audit.ToList());

    private async Task<AuditEntry> Save(Func<MigrationPolicy, AuditEntry> change)
    {
        var entry = change(Policy);
        await state.WriteStateAsync();
        return entry;
    }
}
