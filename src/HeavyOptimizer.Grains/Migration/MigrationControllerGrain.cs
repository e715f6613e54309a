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
    ILogger<MigrationControllerGrain> logger,
    Security.ClusterSecurity? security = null) : Grain, IMigrationControllerGrain
{
    private MigrationPolicy Current => new(state.State, options.Value, time);

    /// <inheritdoc />
    public Task<MigrationConfig> GetConfig() => Task.FromResult(state.State.Config);

    /// <inheritdoc />
    public Task<Route> RouteFor(string jobId) => Task.FromResult(Current.RouteFor(jobId));

    /// <inheritdoc />
    public Task<AuditEntry> SetPhase(MigrationPhase phase, bool force, string who, string why) => Change(who, (p, w) => p.SetPhase(phase, force, w, why));

    /// <inheritdoc />
    public async Task<ImportOutcome> ImportIni(string ini, bool force, bool allowUnknown, string who, string why)
    {
        ImportOutcome? outcome = null;
        await Change(who, (p, w) => (outcome = p.Import(ini, force, allowUnknown, w, why)).Entry);
        return outcome!;
    }

    /// <inheritdoc />
    public Task<AuditEntry> SetTraffic(int percent, string who, string why) => Change(who, (p, w) => p.SetTraffic(percent, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetDualWrite(bool on, string who, string why) => Change(who, (p, w) => p.SetDualWrite(on, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetValidation(bool on, bool? strict, string who, string why) => Change(who, (p, w) => p.SetValidation(on, strict, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetBackendDisabled(string backend, bool disabled, string who, string why) =>
        Change(who, (p, w) => p.SetBackendDisabled(backend, disabled, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> Checkpoint(string name, bool replace, string who, string why) => Change(who, (p, w) => p.Checkpoint(name, replace, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> RollbackTo(string name, bool force, string who, string why) => Change(who, (p, w) => p.RollbackTo(name, force, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> EmergencyRollback(string who, string why) => Change(who, (p, w) => p.EmergencyRollback(w, why));

    /// <inheritdoc />
    public Task AuditRefusal(string who, string what, string why) => ChangeAsync(who, p => p.Refused(who, what, why), trusted: true);

    /// <inheritdoc />
    public async Task<AuditEntry?> Record(JobOutcome outcome)
    {
        AuditEntry? rollback = null;
        await ChangeAsync("controller", p => rollback = p.Record(outcome), trusted: true);
        return rollback;
    }

    /// <inheritdoc />
    public Task<MigrationStatus> GetStatus(int auditEntries) =>
        Task.FromResult(Current.Status(auditEntries) with { Security = security?.Description });

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEntry>> GetAudit() => Task.FromResult<IReadOnlyList<AuditEntry>>(state.State.Audit.ToList());

    private async Task<AuditEntry> Change(string who, Func<MigrationPolicy, string, AuditEntry> change)
    {
        // The audit names the verified caller; what the caller claimed (--who) is only a note beside it.
        var (identity, note) = CallerProof.Current is { } caller
            ? (caller.Name, string.IsNullOrWhiteSpace(who) || who == caller.Name ? null : $"claimed: {who}")
            : (string.IsNullOrWhiteSpace(who) ? "unknown" : who, "unauthenticated");
        return (await ChangeAsync(identity, p => change(p, identity), note))!;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to a copy, stores it, swaps it in, then logs what it audited; a refusal is logged
    /// too. <paramref name="who"/> is only for the log: the change itself names who in its audit entry.
    /// </summary>
    private async Task<AuditEntry?> ChangeAsync(string who, Func<MigrationPolicy, AuditEntry?> change, string? note = null, bool trusted = false)
    {
        var previous = state.State;
        var next = previous.Clone();
        AuditEntry? entry;
        try
        {
            entry = change(new MigrationPolicy(next, options.Value, time) { Note = trusted ? null : note });
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
                LogChange(entry.Sequence, entry.Action, entry.Note is null ? entry.Who : $"{entry.Who} [{entry.Note}]", entry.Why, MigrationLog.Diff(entry.Before, entry.After), MigrationLog.Describe(entry.After));
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
