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
    Observability.Alerts? alerts = null,
    Security.ClusterSecurity? security = null) : Grain, IMigrationControllerGrain, IRemindable
{
    /// <summary>The reminder that keeps a rollout's analysis going (and the controller active) across restarts.</summary>
    public const string RolloutReminder = "rollout";

    private readonly Observability.FailureBurst _burst = new();

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
        var atStep = _state.Rollout is { Active: true } rollout
            ? await store.RecentOutcomesAsync(Key, rollout.StepVersion, long.MaxValue, int.MaxValue, cancellationToken)
            : [];
        Current.Rebuild(recorded, recent, clean, trouble, atStep);
    }

    /// <inheritdoc />
    public Task<MigrationConfig> GetConfig() => Task.FromResult(_state.Config);

    /// <inheritdoc />
    public Task<Route> RouteFor(string jobId) => Task.FromResult(Current.RouteFor(jobId));

    /// <inheritdoc />
    public Task<AuditEntry> SetPhase(MigrationPhase phase, bool force, string who, string why, bool countBackfill = false) =>
        Change(who, (p, w) => p.SetPhase(phase, force, w, why, countBackfill));

    /// <inheritdoc />
    public async Task RecordBackfill(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        string? verdict = null;
        await ChangeAsync("controller", p =>
        {
            verdict = p.RecordBackfill(outcome);
            return null;
        }, trusted: true);
        if (verdict == BackfillSummary.Mismatch)
        {
            alerts?.Raise("backfill_mismatch", Observability.AlertSeverity.P3, $"backfill validation found job {outcome.JobId} different on {outcome.Route?.Secondary ?? "the candidate"}: cut_over is refused until it validates clean",
                new Dictionary<string, string> { ["job"] = outcome.JobId, ["mismatched"] = $"{_state.Backfill.Mismatched}", ["validated"] = $"{_state.Backfill.Verdicts.Count}" });
        }
    }

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
    public Task<AuditEntry> StartRollout(RolloutPlan plan, string who, string why) => Change(who, (p, w) => p.StartRollout(plan, w, why));

    /// <inheritdoc />
    public Task<AuditEntry> PauseRollout(string who, string why) => Change(who, (p, w) => p.PauseRollout(w, why));

    /// <inheritdoc />
    public Task<AuditEntry> ResumeRollout(string who, string why) => Change(who, (p, w) => p.ResumeRollout(w, why));

    /// <inheritdoc />
    public Task<AuditEntry> AbortRollout(string who, string why) => Change(who, (p, w) => p.AbortRollout(w, why));

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == RolloutReminder)
        {
            await ChangeAsync("controller", p => p.AdvanceRollout(), trusted: true);
        }
    }

    /// <inheritdoc />
    public Task AuditRefusal(string who, string what, string why) => ChangeAsync(who, p => p.Refused(who, what, why), trusted: true);

    /// <inheritdoc />
    public async Task<AuditEntry?> Record(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        AuditEntry? rollback = null;
        await ChangeAsync("controller", p => rollback = p.Record(outcome), trusted: true, outcome: outcome);
        if (outcome.BackendFailure)
        {
            AlertOnBurst(outcome);
        }

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
        var policy = new MigrationPolicy(next, options.Value, time) { Note = trusted ? null : note };
        try
        {
            entry = change(policy);
        }
        catch (Exception e) when (e is MigrationGuardException or FormatException or ArgumentException)
        {
            LogRefused(who, Core.Messages.OneLine(e.Message));
            AlertOnGuard(policy, who);
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

        var audited = next.NewAudit.ToList();
        next.NewAudit.Clear();
        var rolloutBefore = _state.Rollout;
        _state = next;
        foreach (var made in audited)
        {
            if (made.Action.StartsWith(MigrationPolicy.AutomaticRollback, StringComparison.Ordinal))
            {
                LogAutomaticRollback(made.Sequence, made.Why, MigrationLog.Diff(made.Before, made.After), MigrationLog.Describe(made.After));
                alerts?.Raise("automatic_rollback", outcome?.ConsistencyPassed == false || outcome?.ResultVariance is not null ? Observability.AlertSeverity.P3 : Observability.AlertSeverity.P2,
                    $"automatic rollback to {MigrationPhases.Name(made.After.Phase)}: {made.Why}", Figures(made));
            }
            else
            {
                LogChange(made.Sequence, made.Action, made.Note is null ? made.Who : $"{made.Who} [{made.Note}]", made.Why, MigrationLog.Diff(made.Before, made.After), MigrationLog.Describe(made.After));
            }
        }

        if (rolloutBefore is { Active: true } && _state.Rollout is { Stage: RolloutStage.Aborted } aborted)
        {
            alerts?.Raise("rollout_aborted", Observability.AlertSeverity.P4, $"rollout aborted at {aborted.Traffic} %: {aborted.Analysis}",
                new Dictionary<string, string> { ["step"] = $"{aborted.Step + 1}", ["steps"] = string.Join(',', aborted.Plan.Steps), ["traffic"] = $"{_state.Config.TrafficPercentParquet}" });
        }

        AlertOnGuard(policy, who);
        await KeepRolloutReminderAsync(rolloutBefore);
        return entry;
    }

    /// <summary>Registers the rollout reminder while a rollout is active, and drops it once it is not.</summary>
    private async Task KeepRolloutReminderAsync(Rollout? before)
    {
        var active = _state.Rollout is { Active: true };
        if (active == before is { Active: true })
        {
            return;
        }

        try
        {
            if (active)
            {
                await this.RegisterOrUpdateReminder(RolloutReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            }
            else if (await this.GetReminder(RolloutReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The rollout goes on with job outcomes; only the periodic re-analysis is missing until the next change.
            LogReminderFailed(Core.Messages.OneLine(e.Message));
        }
    }

    /// <summary>A phase move a guard refused (asked for, or the rollout's own) is alerted; a mistyped command is not.</summary>
    private void AlertOnGuard(MigrationPolicy policy, string who)
    {
        if (policy.GuardRefusal is { } refusal)
        {
            alerts?.Raise("guard_refused", Observability.AlertSeverity.P4, $"phase move refused, asked by {who}: {Core.Messages.OneLine(refusal)}",
                new Dictionary<string, string> { ["phase"] = MigrationPhases.Name(_state.Config.Phase), ["traffic"] = $"{_state.Config.TrafficPercentParquet}" });
        }
    }

    /// <summary>A burst of backend failures (<see cref="Observability.FailureBurst"/>) is alerted once per window.</summary>
    private void AlertOnBurst(JobOutcome outcome)
    {
        if (_burst.Add(time.GetUtcNow()) is { } count)
        {
            alerts?.Raise("failure_burst", Observability.AlertSeverity.P2,
                $"{count} backend failures in the last {Observability.FailureBurst.Window.TotalSeconds:0} s, the latest job {outcome.JobId} on {outcome.Backend}",
                new Dictionary<string, string> { ["failures"] = $"{count}", ["backend"] = outcome.Backend, ["job"] = outcome.JobId });
        }
    }

    private static Dictionary<string, string> Figures(AuditEntry entry) => new()
    {
        ["sequence"] = $"{entry.Sequence}",
        ["before"] = MigrationLog.Describe(entry.Before),
        ["after"] = MigrationLog.Describe(entry.After),
    };

    private static string Serialize(MigrationControllerState state) => JsonSerializer.Serialize(state, Json);

    [LoggerMessage(Level = LogLevel.Information, Message = "Migration change #{Sequence} {Action} by {Who} ({Why}): {Changes}. Now: {Settings}")]
    private partial void LogChange(long sequence, string action, string who, string why, string changes, string settings);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migration change refused, asked by {Who}: {Reason}")]
    private partial void LogRefused(string who, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The rollout reminder could not be kept: {Reason}")]
    private partial void LogReminderFailed(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Migration change #{Sequence} automatic rollback by the controller, trigger: {Trigger}: {Changes}. Now: {Settings}")]
    private partial void LogAutomaticRollback(long sequence, string trigger, string changes, string settings);
}
