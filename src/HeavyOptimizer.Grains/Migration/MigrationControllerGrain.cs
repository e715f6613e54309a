using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The controller grain: <see cref="MigrationPolicy"/> over persistent state. A change is made to a copy of the state,
/// which is swapped in only once it is stored, so a failed write leaves the settings in force as they were; reads
/// interleave. Every change of the settings is logged by this silo with its words for the runbook's greps.
/// </summary>
public sealed partial class MigrationControllerGrain(
    [PersistentState("migration", "hopt")] IPersistentState<MigrationControllerState> state,
    IOptions<MigrationPolicyOptions> options,
    TimeProvider time,
    ILogger<MigrationControllerGrain> logger) : Grain, IMigrationControllerGrain
{
    private MigrationPolicy Current => new(state.State, options.Value, time);

    /// <inheritdoc />
    public Task<MigrationConfig> GetConfig() => Task.FromResult(state.State.Config);

    /// <inheritdoc />
    public Task<Route> RouteFor(string jobId) => Task.FromResult(Current.RouteFor(jobId));

    /// <inheritdoc />
    public Task<AuditEntry> SetPhase(MigrationPhase phase, bool force, string who, string why) => Change(who, p => p.SetPhase(phase, force, who, why));

    /// <inheritdoc />
    public async Task<ImportOutcome> ImportIni(string ini, bool force, bool allowUnknown, string who, string why)
    {
        ImportOutcome? outcome = null;
        await Change(who, p => (outcome = p.Import(ini, force, allowUnknown, who, why)).Entry);
        return outcome!;
    }

    /// <inheritdoc />
    public Task<AuditEntry> SetTraffic(int percent, string who, string why) => Change(who, p => p.SetTraffic(percent, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetDualWrite(bool on, string who, string why) => Change(who, p => p.SetDualWrite(on, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetValidation(bool on, bool? strict, string who, string why) => Change(who, p => p.SetValidation(on, strict, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetBackendDisabled(string backend, bool disabled, string who, string why) =>
        Change(who, p => p.SetBackendDisabled(backend, disabled, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> Checkpoint(string name, bool replace, string who, string why) => Change(who, p => p.Checkpoint(name, replace, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> RollbackTo(string name, bool force, string who, string why) => Change(who, p => p.RollbackTo(name, force, who, why));

    /// <inheritdoc />
    public Task<AuditEntry> EmergencyRollback(string who, string why) => Change(who, p => p.EmergencyRollback(who, why));

    /// <inheritdoc />
    public async Task<AuditEntry?> Record(JobOutcome outcome)
    {
        AuditEntry? rollback = null;
        await ChangeAsync("controller", p => rollback = p.Record(outcome));
        return rollback;
    }

    /// <inheritdoc />
    public Task<MigrationStatus> GetStatus(int auditEntries) => Task.FromResult(Current.Status(auditEntries));

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEntry>> GetAudit() => Task.FromResult<IReadOnlyList<AuditEntry>>(state.State.Audit.ToList());

    private async Task<AuditEntry> Change(string who, Func<MigrationPolicy, AuditEntry> change) => (await ChangeAsync(who, change))!;

    /// <summary>Applies <paramref name="change"/> to a copy, stores it, swaps it in, then logs what it audited; a refusal is logged too.</summary>
    private async Task<AuditEntry?> ChangeAsync(string who, Func<MigrationPolicy, AuditEntry?> change)
    {
        var previous = state.State;
        var next = previous.Clone();
        AuditEntry? entry;
        try
        {
            entry = change(new MigrationPolicy(next, options.Value, time));
        }
        catch (Exception e) when (e is MigrationGuardException or FormatException or ArgumentException)
        {
            LogRefused(who, Core.Messages.OneLine(e.Message));
            throw;
        }

        state.State = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = previous;
            throw;
        }

        if (entry is not null)
        {
            if (entry.Who == "controller")
            {
                LogAutomaticRollback(entry.Sequence, entry.Why, MigrationLog.Diff(entry.Before, entry.After), MigrationLog.Describe(entry.After));
            }
            else
            {
                LogChange(entry.Sequence, entry.Action, entry.Who, entry.Why, MigrationLog.Diff(entry.Before, entry.After), MigrationLog.Describe(entry.After));
            }
        }

        return entry;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Migration change #{Sequence} {Action} by {Who} ({Why}): {Changes}. Now: {Settings}")]
    private partial void LogChange(long sequence, string action, string who, string why, string changes, string settings);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migration change refused, asked by {Who}: {Reason}")]
    private partial void LogRefused(string who, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Migration change #{Sequence} automatic rollback by the controller, trigger: {Trigger}: {Changes}. Now: {Settings}")]
    private partial void LogAutomaticRollback(long sequence, string trigger, string changes, string settings);
}
