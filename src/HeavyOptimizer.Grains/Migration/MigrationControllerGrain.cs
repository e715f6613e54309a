using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeavyOptimizer.Grains.Storage;
using Orleans.Runtime;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The controller grain: <see cref="MigrationPolicy"/> over the cluster store. A change is made to a copy of the
/// state and stored with its audit entries in one transaction (<see cref="ClusterStore.CommitControllerAsync"/>); the
/// copy is swapped in only once stored, so a failed write leaves the settings in force as they were. An outcome that
/// changes no setting is one insert into the outcome table (whose key refuses a job's second outcome); the window and
/// counters are rebuilt from that table at activation. Reads interleave. Every change is logged by this silo with
/// its words for the runbook's greps. State kept by earlier builds in Orleans' storage is carried over once.
/// </summary>
public sealed partial class MigrationControllerGrain(
    [PersistentState("migration", "hopt")] IPersistentState<MigrationControllerState> legacy,
    ClusterStore store,
    IOptions<MigrationPolicyOptions> options,
    TimeProvider time,
    ILogger<MigrationControllerGrain> logger,
    Security.ClusterSecurity? security = null) : Grain, IMigrationControllerGrain
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private MigrationControllerState _state = new();
    private long _version;

    private MigrationPolicy Current => new(_state, options.Value, time);

    private string Key => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await store.GetControllerAsync(Key, cancellationToken) is var (json, version))
        {
            (_state, _version) = (JsonSerializer.Deserialize<MigrationControllerState>(json, Json) ?? new(), version);
        }
        else
        {
            // First activation on this store: carry over what an earlier build kept in Orleans' storage (or start afresh).
            var carried = legacy.State;
            await store.AppendAuditAsync(Key, carried.LegacyAudit, cancellationToken);
            _state = carried.Clone();
            _version = await store.CommitControllerAsync(Key, Serialize(_state), 0, [], cancellation: cancellationToken) ?? 1;
        }

        _state.LastAuditSequence = await store.LastAuditSequenceAsync(Key, cancellationToken);
        var recorded = Math.Max(_state.RecordedBefore, await store.LastOutcomeAsync(Key, cancellationToken));
        var recent = await store.RecentOutcomesAsync(Key, _state.WindowSince, _state.WindowFromRecord, options.Value.WindowSize, cancellationToken);
        var (clean, trouble) = await store.VersionCountsAsync(Key, _state.Config.Version, cancellationToken);
        Current.Rebuild(recorded, recent, clean, trouble);
    }

    /// <inheritdoc />
    public Task<MigrationConfig> GetConfig() => Task.FromResult(_state.Config);

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
    public Task<MigrationBackup> Backup() => Task.FromResult(Current.Backup(time.GetUtcNow()));

    /// <inheritdoc />
    public Task<AuditEntry> Restore(MigrationBackup backup, bool force, string who, string why) =>
        Change(who, (p, w) => p.Restore(backup, force, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> RollbackToPreset(string id, bool force, string who, string why) =>
        Change(who, (p, w) => p.RollbackToPreset(id, force, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> SetBackendDisabled(string backend, bool disabled, bool force, string who, string why) =>
        Change(who, (p, w) => p.SetBackendDisabled(backend, disabled, force, w, why));

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
        ArgumentNullException.ThrowIfNull(outcome);
        AuditEntry? rollback = null;
        await ChangeAsync("controller", p => rollback = p.Record(outcome), trusted: true, outcome: outcome);
        return rollback;
    }

    /// <inheritdoc />
    public async Task<MigrationStatus> GetStatus(int auditEntries) =>
        Current.Status(await store.ReadAuditAsync(Key, null, null, auditEntries)) with { Security = security?.Description, Queue = await store.SummaryAsync() };

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEntry>> GetAudit(long? after, DateTimeOffset? since, int limit) => store.ReadAuditAsync(Key, after, since, Math.Clamp(limit, 0, 10_000));

    private async Task<AuditEntry> Change(string who, Func<MigrationPolicy, string, AuditEntry> change)
    {
        // The audit names the verified caller; what the caller claimed (--who) is only a note beside it.
        var (identity, note) = CallerProof.Current is { } caller
            ? (caller.Name, string.IsNullOrWhiteSpace(who) || who == caller.Name ? null : $"claimed: {who}")
            : (string.IsNullOrWhiteSpace(who) ? "unknown" : who, "unauthenticated");
        return (await ChangeAsync(identity, p => change(p, identity), note))!;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to a copy; stores what changed (with its audit entries, and the
    /// <paramref name="outcome"/> that caused it) or, for an outcome that changed no setting, only the outcome; swaps
    /// the copy in; then logs what it audited. A refusal is logged too, and a job's second outcome changes nothing.
    /// <paramref name="who"/> is only for the log: the change itself names who in its audit entry.
    /// </summary>
    private async Task<AuditEntry?> ChangeAsync(string who, Func<MigrationPolicy, AuditEntry?> change, string? note = null, bool trusted = false, JobOutcome? outcome = null)
    {
        var next = _state.Clone();
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

        var recorded = outcome is null ? null : new RecordedOutcome(outcome, next.JobsRecorded, MigrationPolicy.IsClean(outcome), MigrationPolicy.IsTrouble(outcome));
        if (next.StoredPartDiffers(_state))
        {
            if (await store.CommitControllerAsync(Key, Serialize(next), _version, next.NewAudit, recorded) is not { } version)
            {
                return null;
            }

            _version = version;
        }
        else if (recorded is not null && !await store.RecordOutcomeAsync(Key, recorded))
        {
            return null;
        }

        next.NewAudit.Clear();
        _state = next;
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

    private static string Serialize(MigrationControllerState state) => JsonSerializer.Serialize(state, Json);

    [LoggerMessage(Level = LogLevel.Information, Message = "Migration change #{Sequence} {Action} by {Who} ({Why}): {Changes}. Now: {Settings}")]
    private partial void LogChange(long sequence, string action, string who, string why, string changes, string settings);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migration change refused, asked by {Who}: {Reason}")]
    private partial void LogRefused(string who, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Migration change #{Sequence} automatic rollback by the controller, trigger: {Trigger}: {Changes}. Now: {Settings}")]
    private partial void LogAutomaticRollback(long sequence, string trigger, string changes, string settings);
}
