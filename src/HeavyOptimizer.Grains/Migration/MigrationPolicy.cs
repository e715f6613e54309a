using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The migration controller's rules, free of Orleans so they can be tested directly: routing; every change of the
/// settings goes through <see cref="Apply"/>, which checks the target is consistent (<see cref="PhaseMachine.Inconsistency"/>)
/// and that the phase move is allowed (<see cref="PhaseMachine.Classify"/> plus the window's guards) and appends the
/// audit entry (into <see cref="MigrationControllerState.NewAudit"/>); checkpoints and rollbacks; the window of job
/// outcomes since the last phase change, and the automatic rollback triggers, which count backend failures only. The
/// grain stores what a call changed, with its audit entries, in one transaction.
/// </summary>
public sealed partial class MigrationPolicy(MigrationControllerState state, MigrationPolicyOptions options, TimeProvider time)
{
    /// <summary>Backend names.</summary>
    public const string HeavyDb = "heavydb";

    /// <summary>Backend names.</summary>
    public const string Parquet = "parquet";

    /// <summary>The audit action of a rollback the controller made by itself.</summary>
    public const string AutomaticRollback = "automatic rollback";

    /// <summary>The name <see cref="RollbackTo"/> takes for the last-known-good settings.</summary>
    public const string LastKnownGood = "last-known-good";

    /// <summary>The state the rules act on.</summary>
    public MigrationControllerState State { get; } = state;

    /// <summary>The note every audit entry of this change carries (the identity claimed, or "unauthenticated").</summary>
    public string? Note { get; init; }

    /// <summary>
    /// The route of a job: a function of its id and the settings, so the same id gets the same route at the same
    /// config version (replays are reproducible). In cut-over, ids whose bucket (0..99, from SHA-256 of the id) is
    /// below the Parquet percentage go to Parquet.
    /// </summary>
    public Route RouteFor(string jobId)
    {
        var c = State.Config;
        var primary = c.Phase switch
        {
            MigrationPhase.HeavyDbOnly => HeavyDb,
            MigrationPhase.DualWrite => c.PrimaryBackend,
            MigrationPhase.CutOver => Bucket(jobId) < c.TrafficPercentParquet ? Parquet : HeavyDb,
            _ => Parquet,
        };
        var other = primary == Parquet ? HeavyDb : Parquet;
        if (c.DisabledBackends.Contains(primary) && !c.DisabledBackends.Contains(other))
        {
            (primary, other) = (other, primary);
        }

        var mirrored = c.DualWrite && c.Phase is MigrationPhase.DualWrite or MigrationPhase.CutOver && !c.DisabledBackends.Contains(other);
        return new Route(primary, mirrored ? other : null, c.Version, mirrored && c.ValidationEnabled, c.Phase, c.TrafficPercentParquet,
            mirrored && c.ValidationEnabled && c.StrictValidation, c.GpuEnabled, c.LogBackendPerformance);
    }

    /// <summary>0..99 from the job id, the same on every machine and runtime.</summary>
    public static int Bucket(string jobId) =>
        (int)(BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(jobId)), 0) % 100);

    /// <summary>Moves to <paramref name="phase"/> with the settings the runbook pairs with it (<see cref="PhaseMachine.Enter"/>).</summary>
    public AuditEntry SetPhase(MigrationPhase phase, bool force, string who, string why, bool countBackfill = false) =>
        CountingBackfill(countBackfill, () => Apply(PhaseMachine.Enter(State.Config, phase), force,
            countBackfill && phase == MigrationPhase.CutOver && State.Config.Phase == MigrationPhase.DualWrite
                ? $"phase {Name(phase)} (counting {State.Backfill.Matched} clean backfill comparisons)" : $"phase {Name(phase)}", who, why));

    /// <summary>Original jobs whose backfill verdicts are kept at most; the oldest verdicts go first.</summary>
    public const int BackfillJobsKept = 1_000;

    /// <summary>
    /// Records a shadow run's outcome as the backfill verdict of its original job (<see cref="JobOutcome.JobId"/>),
    /// replacing an earlier one of that job: it never enters the window, the automatic rollback or last-known-good.
    /// Returns the verdict recorded.
    /// </summary>
    public string RecordBackfill(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var originalJob = outcome.JobId;
        var verdict = !outcome.Succeeded ? BackfillSummary.Failed : outcome.ConsistencyPassed == true ? BackfillSummary.Match : BackfillSummary.Mismatch;
        var kept = State.Backfill.Verdicts.Where(v => v.Key != originalJob).TakeLast(BackfillJobsKept - 1);
        State.Backfill = new BackfillSummary(new Dictionary<string, string>(kept.Append(KeyValuePair.Create(originalJob, verdict))));
        return verdict;
    }

    private bool _countBackfill;

    /// <summary>Why the last change was refused by a phase guard (the controller alerts on these), or null.</summary>
    public string? GuardRefusal { get; private set; }

    private MigrationGuardException GuardRefused(string message)
    {
        GuardRefusal = message;
        return new MigrationGuardException(message);
    }

    private AuditEntry CountingBackfill(bool count, Func<AuditEntry> change) => With(on => _countBackfill = on, count, change);

    /// <summary>Runs <paramref name="change"/> with a flag of this change set to <paramref name="value"/>, cleared after.</summary>
    private static AuditEntry With(Action<bool> flag, bool value, Func<AuditEntry> change)
    {
        flag(value);
        try
        {
            return change();
        }
        finally
        {
            flag(false);
        }
    }

    /// <summary>
    /// Applies an ini file in the operators' shape as one target state (<see cref="MigrationIni.Target"/>): all of it
    /// or, when anything is wrong with it, nothing.
    /// </summary>
    public ImportOutcome Import(string ini, bool force, bool allowUnknown, string who, string why)
    {
        var target = MigrationIni.Target(ini, State.Config, allowUnknown, out var notes);
        return new ImportOutcome(Apply(target, force, "import settings", who, why), notes);
    }

    /// <summary>Sets the share of jobs routed to Parquet; only in cut_over.</summary>
    public AuditEntry SetTraffic(int percent, string who, string why)
    {
        if (percent is < 0 or > 100)
        {
            throw new ArgumentException($"traffic {percent}: a percentage, 0..100");
        }

        return Apply(State.Config with { TrafficPercentParquet = percent }, false, $"traffic {percent}", who, why,
            PhaseMachine.OnlyIn(State.Config, "traffic"));
    }

    /// <summary>Turns mirroring to the secondary on or off; only in cut_over (dual_write always mirrors, the others never).</summary>
    public AuditEntry SetDualWrite(bool on, string who, string why) =>
        Apply(State.Config with { DualWrite = on }, false, $"dual-write {OnOff(on)}", who, why, PhaseMachine.OnlyIn(State.Config, "dual-write"));

    /// <summary>Turns the comparison of dual-write jobs on or off, and its strict mode (null: unchanged).</summary>
    public AuditEntry SetValidation(bool on, bool? strict, string who, string why) =>
        Apply(State.Config with { ValidationEnabled = on, StrictValidation = strict ?? State.Config.StrictValidation }, false,
            $"validation {OnOff(on)}{(strict is { } s ? $", strict {OnOff(s)}" : string.Empty)}", who, why);

    /// <summary>
    /// Takes a backend out of (or back into) service: a disabled backend is neither primary nor secondary for new jobs.
    /// Disabling both is refused; disabling the one backend heavydb_only or parquet_only runs on needs
    /// <paramref name="force"/> (its jobs move to the other backend).
    /// </summary>
    public AuditEntry SetBackendDisabled(string backend, bool disabled, bool force, string who, string why)
    {
        if (backend is not (HeavyDb or Parquet))
        {
            throw new ArgumentException($"unknown backend '{backend}': heavydb or parquet");
        }

        var target = State.Config with
        {
            DisabledBackends = disabled ? State.Config.DisabledBackends.Append(backend).Distinct().Order().ToArray() : State.Config.DisabledBackends.Where(b => b != backend).ToArray(),
        };
        var needed = State.Config.Phase switch { MigrationPhase.HeavyDbOnly => HeavyDb, MigrationPhase.ParquetOnly => Parquet, _ => null };
        if (disabled && backend == needed && !force)
        {
            throw new MigrationGuardException($"{MigrationPhases.Name(State.Config.Phase)} runs every job on {backend}: disabling it sends them all to the other backend; --force to do it anyway (audited)");
        }

        return Apply(target, false, $"{(disabled ? "disable" : "enable")} {backend}{(disabled && backend == needed ? " (forced)" : string.Empty)}", who, why);
    }

    /// <summary>Saves the current settings under <paramref name="name"/> (audited; the settings do not change); an existing name needs <paramref name="replace"/>.</summary>
    public AuditEntry Checkpoint(string name, bool replace, string who, string why)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Equals(LastKnownGood, StringComparison.OrdinalIgnoreCase) || !CheckpointName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' cannot name a checkpoint: 1..64 of A-Z a-z 0-9 . _ -, and not {LastKnownGood}");
        }

        if (State.Checkpoints.ContainsKey(name) && !replace)
        {
            throw new MigrationGuardException(
                $"checkpoint '{name}' exists{(State.CheckpointTaken.TryGetValue(name, out var taken) ? $" ({taken})" : string.Empty)}; use --replace to overwrite it (audited)");
        }

        var entry = Append(replace && State.Checkpoints.ContainsKey(name) ? $"checkpoint {name} (replaced)" : $"checkpoint {name}", who, why, State.Config, State.Config);
        State.Checkpoints[name] = State.Config;
        State.CheckpointTaken[name] = $"#{entry.Sequence}, {entry.At:u} by {entry.Who}";
        return entry;
    }

    /// <summary>
    /// Restores a checkpoint, or the last-known-good settings with <see cref="LastKnownGood"/>, as a new version. The
    /// phase move it makes follows the same table as any other: a checkpoint ahead of today's phase is guarded.
    /// </summary>
    public AuditEntry RollbackTo(string name, bool force, string who, string why)
    {
        var target = name.Equals(LastKnownGood, StringComparison.OrdinalIgnoreCase)
            ? State.LastKnownGood ?? throw new MigrationGuardException("no last-known-good settings yet: no config has completed enough clean jobs")
            : State.Checkpoints.TryGetValue(name, out var saved) ? saved
            : throw new MigrationGuardException($"no checkpoint '{name}' (have: {string.Join(", ", State.Checkpoints.Keys.Order().DefaultIfEmpty("none"))})");
        return Apply(target with { Version = State.Config.Version }, force, $"rollback to {name}", who, why);
    }

    /// <summary>
    /// Applies the runbook's rollback checkpoint <paramref name="id"/> (<see cref="RunbookCheckpoints"/>) in one audited
    /// step; a preset that moves the phase forward (2.1 from heavydb_only) needs its guard or <paramref name="force"/>.
    /// </summary>
    public AuditEntry RollbackToPreset(string id, bool force, string who, string why)
    {
        var preset = RunbookCheckpoints.Find(id);
        var target = preset.Apply(State.Config, State.LastKnownGood) with { Version = State.Config.Version };
        return Apply(target, force, $"rollback checkpoint {preset.Id} ({preset.Effect})", who, why);
    }

    /// <summary>The state a backup holds.</summary>
    public MigrationBackup Backup(DateTimeOffset at) => new(State.Config, new Dictionary<string, MigrationConfig>(State.Checkpoints), State.LastKnownGood, at);

    /// <summary>Restores <paramref name="backup"/>: its checkpoints and last-known-good, and its settings as one audited change.</summary>
    public AuditEntry Restore(MigrationBackup backup, bool force, string who, string why)
    {
        ArgumentNullException.ThrowIfNull(backup);
        ArgumentNullException.ThrowIfNull(backup.Config);
        foreach (var name in backup.Checkpoints.Keys.Where(n => n.Equals(LastKnownGood, StringComparison.OrdinalIgnoreCase) || !CheckpointName().IsMatch(n)))
        {
            throw new ArgumentException($"the backup's checkpoint '{name}' cannot name a checkpoint (1..64 of A-Z a-z 0-9 . _ -, and not {LastKnownGood}): it is not restored");
        }

        var entry = Apply(backup.Config with { Version = State.Config.Version }, force,
            $"restore backup of {backup.TakenAt:u} ({backup.Checkpoints.Count} checkpoints{(backup.LastKnownGood is null ? string.Empty : ", last-known-good")})", who, why);
        State.Checkpoints = new Dictionary<string, MigrationConfig>(backup.Checkpoints, StringComparer.Ordinal);
        State.LastKnownGood = backup.LastKnownGood;
        return entry;
    }

    /// <summary>A call the caller's role did not allow, in the audit; the settings do not change.</summary>
    public AuditEntry Refused(string who, string what, string why) => Append($"refused: {what}", who, why, State.Config, State.Config);

    /// <summary>heavydb_only, dual-write off, traffic 0, in one audited step; never refused.</summary>
    public AuditEntry EmergencyRollback(string who, string why) =>
        Apply(PhaseMachine.Enter(State.Config, MigrationPhase.HeavyDbOnly), false, "emergency rollback", who, why);

    /// <summary>
    /// Counts a job's outcome (the grain has made sure it is the job's first): in the window when it ran under the
    /// current phase, towards last-known-good when under the current version; then applies the automatic rollback
    /// triggers and returns the audit entry of a rollback it made, or null.
    /// </summary>
    public AuditEntry? Record(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        State.JobsRecorded++;
        CountAtStep(outcome);
        if (!InWindow(outcome))
        {
            return null;
        }

        Add(outcome);
        if (outcome.Route is null || outcome.Route.ConfigVersion == State.Config.Version)
        {
            CountTowardsLastKnownGood(outcome);
            if (!State.TroubleThisVersion && State.CleanJobsThisVersion >= options.CleanJobsForLastKnownGood)
            {
                State.LastKnownGood = State.Config;
            }
        }

        var trigger = Trigger(outcome);
        if (trigger is null || State.Config is { Phase: MigrationPhase.HeavyDbOnly, DualWrite: false })
        {
            AdvanceRollout();
            return null;
        }

        return Apply(PhaseMachine.Enter(State.Config, MigrationPhase.HeavyDbOnly), false, AutomaticRollback, "controller", trigger);
    }

    /// <summary>
    /// The figures derived from outcomes, rebuilt from the stored ones when the controller activates:
    /// <paramref name="recent"/>, the latest outcomes routed since the window began (oldest first), the clean
    /// count and trouble of those routed at the current config version (<see cref="IsClean"/>, <see cref="IsTrouble"/>),
    /// and <paramref name="atStep"/>, those routed since the active rollout's step began (<see cref="StepTally"/>).
    /// </summary>
    public void Rebuild(long jobsRecorded, IEnumerable<JobOutcome> recent, int cleanAtVersion, bool troubleAtVersion, IEnumerable<JobOutcome> atStep)
    {
        ArgumentNullException.ThrowIfNull(recent);
        ArgumentNullException.ThrowIfNull(atStep);
        State.JobsRecorded = jobsRecorded;
        State.StepTally = null;
        foreach (var outcome in atStep)
        {
            CountAtStep(outcome);
        }

        State.Window.Clear();
        foreach (var outcome in recent.Where(InWindow))
        {
            Add(outcome);
        }

        (State.CleanJobsThisVersion, State.TroubleThisVersion) = (cleanAtVersion, troubleAtVersion);
    }

    /// <summary>Clean: succeeded, and when mirrored, compared and found consistent (a mirrored job nobody compared proves nothing).</summary>
    public static bool IsClean(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.Succeeded && (outcome.Route?.Secondary is not null ? outcome.ConsistencyPassed == true : outcome.ConsistencyPassed != false);
    }

    /// <summary>Trouble: a backend failure or a mismatch, which keeps its config version from becoming last-known-good.</summary>
    public static bool IsTrouble(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.BackendFailure || outcome.ConsistencyPassed == false;
    }

    private bool InWindow(JobOutcome outcome) => outcome.Route is not { } route || route.ConfigVersion >= State.WindowSince;

    private void Add(JobOutcome outcome)
    {
        State.Window.Add(outcome);
        if (State.Window.Count > options.WindowSize)
        {
            State.Window.RemoveRange(0, State.Window.Count - options.WindowSize);
        }
    }

    private void CountTowardsLastKnownGood(JobOutcome outcome)
    {
        State.TroubleThisVersion |= IsTrouble(outcome);
        State.CleanJobsThisVersion += IsClean(outcome) ? 1 : 0;
    }

    /// <summary>Per-backend counts, error rates and latency percentiles over the window, the dual-write match rate, what the next phase needs.</summary>
    public MigrationStatus Status(IReadOnlyList<AuditEntry> recentAudit)
    {
        var backends = State.Window.GroupBy(o => o.Backend).OrderBy(g => g.Key).Select(g =>
        {
            var seconds = g.Select(o => o.Seconds).Order().ToArray();
            var (errors, rate) = ErrorRate(g.ToList());
            return new BackendStats(g.Key, seconds.Length, errors, rate, Percentile(seconds, 0.5), Percentile(seconds, 0.95),
                g.Count(o => !o.Succeeded && o.Cause == FailureCause.Input), g.Count(o => !o.Succeeded && o.Cause is FailureCause.Internal or FailureCause.Cancelled),
                Percentile(BackendTimes(g), 0.95));
        }).ToList();
        var compared = State.Window.Where(o => o.ConsistencyPassed is not null).ToList();
        var clean = compared.Count(o => o.ConsistencyPassed == true);
        return new MigrationStatus(State.Config, backends, compared.Count, clean, compared.Count == 0 ? null : (double)clean / compared.Count,
            recentAudit, State.Checkpoints.Keys.Order().ToList(), State.JobsRecorded, NextPhase(), State.WindowStartedAt, Rollout: RolloutView(), Backfill: State.Backfill);
    }

    /// <summary>
    /// The one way settings change: <paramref name="target"/> must be consistent; its phase move must be allowed by
    /// <see cref="PhaseMachine"/> (a skip only when forced, a forward step only when its guard holds or forced); a
    /// refusal (<paramref name="refusal"/>, or one of these) changes nothing. A phase change starts the window afresh.
    /// </summary>
    private AuditEntry Apply(MigrationConfig target, bool force, string action, string who, string why, string? refusal = null)
    {
        RequireReason(why);
        if (refusal is not null)
        {
            throw new MigrationGuardException(refusal);
        }

        if (PhaseMachine.Inconsistency(target) is { } inconsistent)
        {
            throw new MigrationGuardException($"inconsistent settings: {inconsistent}");
        }

        var from = State.Config.Phase;
        var move = PhaseMachine.Classify(from, target.Phase);
        var forced = false;
        if (move == PhaseMove.Skip || move == PhaseMove.Forward && GuardFailure(target.Phase) is not null)
        {
            if (!force)
            {
                throw GuardRefused(move == PhaseMove.Skip
                    ? $"{Name(from)} -> {Name(target.Phase)} skips {string.Join(" and ", Enumerable.Range((int)from + 1, target.Phase - from - 1).Select(p => Name((MigrationPhase)p)))}: move one phase at a time, or use --force (audited as forced)"
                    : $"{GuardFailure(target.Phase)}; use --force to override (audited as forced)");
            }

            forced = true;
        }

        var before = State.Config;
        var after = target with { Version = before.Version + 1 };
        var entry = Append(forced ? $"{action} (forced)" : action, who, why, before, after);
        State.Config = after;
        StopRolloutFor(entry);
        State.CleanJobsThisVersion = 0;
        State.TroubleThisVersion = false;
        if (after.Phase != before.Phase)
        {
            State.Window.Clear();
            State.WindowSince = after.Version;
            State.WindowStartedAt = entry.At;
            State.WindowFromRecord = State.JobsRecorded;
            // Backfill verdicts are about the candidate's data path, whatever the phase: kept going forward, cleared
            // by a rollback (whatever was wrong is to be validated afresh).
            State.Backfill = move == PhaseMove.Backward ? BackfillSummary.Empty : State.Backfill;
        }

        return entry;
    }

    /// <summary>Why the forward step into <paramref name="phase"/> is not allowed yet, or null when its guard holds.</summary>
    private string? GuardFailure(MigrationPhase phase)
    {
        switch (phase)
        {
            case MigrationPhase.CutOver:
                var clean = CleanDualWriteJobs();
                var backfill = State.Backfill;
                if (backfill.Mismatched > 0 || _countBackfill && backfill.FailedRuns > 0)
                {
                    // A known difference blocks the move whether or not the backfill is counted.
                    return $"cut_over needs every backfill comparison clean (hopt validate): {backfill.Mismatched} mismatched and {backfill.FailedRuns} failed of {backfill.Verdicts.Count} job(s) validated; validate them again once fixed";
                }

                var counted = clean + (_countBackfill ? backfill.Matched : 0);
                return counted < options.CleanDualWriteJobsForCutOver
                    ? $"cut_over needs at least {options.CleanDualWriteJobsForCutOver} clean dual-write jobs since dual_write began, there are {clean}"
                      + (_countBackfill ? $" and {backfill.Matched} clean backfill comparisons" : backfill.Matched > 0 ? $" (and {backfill.Matched} clean backfill comparisons, counted with --count-backfill)" : string.Empty)
                    : null;
            case MigrationPhase.ParquetOnly:
                var problems = new List<string>();
                if (State.Config.TrafficPercentParquet != 100)
                {
                    problems.Add($"traffic at 100 % (it is {State.Config.TrafficPercentParquet} %; raise it with 'hopt traffic 100')");
                }

                var parquet = CleanParquetJobsAtFullTraffic();
                if (parquet < options.CleanParquetJobsForParquetOnly)
                {
                    problems.Add($"at least {options.CleanParquetJobsForParquetOnly} clean Parquet-primary jobs at traffic 100 % in the window (there are {parquet})");
                }

                var mismatches = State.Window.Count(o => o.ConsistencyPassed == false);
                if (mismatches > 0)
                {
                    problems.Add($"no consistency mismatch in the window (there are {mismatches})");
                }

                return problems.Count == 0 ? null : $"parquet_only needs {string.Join(", ", problems)}";
            default:
                return null;
        }
    }

    private int CleanDualWriteJobs() => State.Window.Count(o => o.Succeeded && o.ConsistencyPassed == true);

    private int CleanParquetJobsAtFullTraffic() => State.Window.Count(o =>
        o is { Backend: Parquet, Succeeded: true, ConsistencyPassed: not false, Route: { Phase: MigrationPhase.CutOver, TrafficPercent: 100 } });

    private string? NextPhase() => State.Config.Phase switch
    {
        MigrationPhase.HeavyDbOnly => "dual_write: no guard (hopt phase dual_write)",
        MigrationPhase.DualWrite => $"cut_over: {CleanDualWriteJobs()} of {options.CleanDualWriteJobsForCutOver} clean dual-write jobs",
        MigrationPhase.CutOver => $"parquet_only: traffic {State.Config.TrafficPercentParquet} % of 100, {CleanParquetJobsAtFullTraffic()} of {options.CleanParquetJobsForParquetOnly} clean Parquet jobs at 100 %, {State.Window.Count(o => o.ConsistencyPassed == false)} mismatches",
        _ => null,
    };

    /// <summary>The sorted backend times of the succeeded outcomes that report one.</summary>
    private static double[] BackendTimes(IEnumerable<JobOutcome> outcomes) =>
        outcomes.Where(o => o.Succeeded && o.BackendSeconds is not null).Select(o => o.BackendSeconds!.Value).Order().ToArray();

    /// <summary>Backend failures, and their share of the jobs that reached a backend (input errors and cancellations did not).</summary>
    private static (int Errors, double Rate) ErrorRate(IReadOnlyCollection<JobOutcome> outcomes)
    {
        var errors = outcomes.Count(o => o.BackendFailure);
        var attempted = outcomes.Count(o => o.TellsOfBackend);
        return (errors, attempted == 0 ? 0 : (double)errors / attempted);
    }

    private string? Trigger(JobOutcome outcome)
    {
        if (outcome.ConsistencyPassed == false && State.Config.RollbackOnValidationFailure)
        {
            return $"consistency check failed for job {outcome.JobId}";
        }

        if (outcome.ResultVariance is { } variance && variance > options.MaxResultVariance)
        {
            return $"job {outcome.JobId}: primary and secondary results differ by {variance:P2} (limit {options.MaxResultVariance:P0})";
        }

        // The backend's own time (ingest, read-back, metrics): the search's length is the requester's choice, not the backend's doing.
        var parquet = BackendTimes(State.Window.Where(o => o.Backend == Parquet));
        if (parquet.Length >= options.MinJobsForRuntime && Percentile(parquet, 0.95) > options.MaxParquetSeconds)
        {
            return $"Parquet backend time p95 {Percentile(parquet, 0.95):F2} s over {parquet.Length} jobs exceeds {options.MaxParquetSeconds} s";
        }

        foreach (var backend in State.Window.GroupBy(o => o.Backend))
        {
            var (errors, rate) = ErrorRate(backend.ToList());
            var attempted = backend.Count(o => o.Succeeded || o.Cause is FailureCause.Backend or FailureCause.Internal);
            if (errors > 0 && attempted >= options.MinJobsForErrorRate && rate > options.MaxErrorRate)
            {
                return $"{backend.Key} error rate {rate:P1} ({errors} backend failures over {attempted} jobs) exceeds {options.MaxErrorRate:P0}";
            }
        }

        return null;
    }

    private AuditEntry Append(string action, string who, string why, MigrationConfig before, MigrationConfig after)
    {
        RequireReason(why);
        var entry = new AuditEntry(++State.LastAuditSequence, time.GetUtcNow(), string.IsNullOrWhiteSpace(who) ? "unknown" : who, action, why, before, after, Note);
        State.NewAudit.Add(entry);
        return entry;
    }

    private static void RequireReason(string why)
    {
        if (string.IsNullOrWhiteSpace(why))
        {
            throw new ArgumentException("every change needs a reason (--reason)");
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static string OnOff(bool on) => on ? "on" : "off";

    /// <summary>The operators' name of a phase.</summary>
    public static string Name(MigrationPhase phase) => MigrationPhases.Name(phase);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex CheckpointName();
}
