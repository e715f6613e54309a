using System.Globalization;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The automatic progressive rollout: each step sets the Parquet traffic through <see cref="Apply"/> (so every guard
/// and consistency rule holds and every move is audited), then waits for its analysis: enough Parquet jobs routed at
/// that weight, and their error rate, p95 and match rate within the plan's limits. A step that passes promotes (or
/// pauses, with --pause-after-each); one that fails aborts, back to the settings from before the step. Any change of
/// the settings not made by the rollout (an operator's, an automatic rollback) stops it where it stands.
/// </summary>
public sealed partial class MigrationPolicy
{
    private const string RolloutWho = "controller";

    private bool _byRollout;

    /// <summary>Starts a rollout from dual_write (its first step is the guarded move into cut_over) or cut_over.</summary>
    public AuditEntry StartRollout(RolloutPlan plan, string who, string why)
    {
        ArgumentNullException.ThrowIfNull(plan);
        RequireReason(why);
        if (plan.Problem() is { } problem)
        {
            throw new ArgumentException(problem);
        }

        if (State.Rollout is { Active: true } running)
        {
            throw new MigrationGuardException($"a rollout is already {Describe(running)}: abort it first (hopt rollout abort)");
        }

        var config = State.Config;
        if (config.Phase is not (MigrationPhase.DualWrite or MigrationPhase.CutOver))
        {
            throw new MigrationGuardException($"a rollout steps the Parquet traffic of cut_over, from dual_write or cut_over; the phase is {Name(config.Phase)}");
        }

        if (plan.MinMatchRate is not null && !(config.DualWrite && config.ValidationEnabled))
        {
            throw new MigrationGuardException("--min-match-rate needs dual-write and validation on (hopt dual-write on; hopt validation on): without them no job is compared");
        }

        if (config.Phase == MigrationPhase.CutOver && plan.Steps[0] < config.TrafficPercentParquet)
        {
            throw new ArgumentException($"--steps {string.Join(',', plan.Steps)}: the first step ({plan.Steps[0]} %) is below the traffic in force ({config.TrafficPercentParquet} %); a rollout only raises it (lower it first with hopt traffic if that is meant)");
        }

        var target = (config.Phase == MigrationPhase.DualWrite ? PhaseMachine.Enter(config, MigrationPhase.CutOver) : config) with { TrafficPercentParquet = plan.Steps[0] };
        var counting = plan.CountBackfill && config.Phase == MigrationPhase.DualWrite ? $", counting {State.Backfill.Matched} clean backfill comparisons" : string.Empty;
        var entry = ByRollout(() => CountingBackfill(plan.CountBackfill, () => config.Phase == MigrationPhase.DualWrite && GuardFailure(MigrationPhase.CutOver) is { } refused
            ? throw GuardRefused($"{refused}; a rollout's first step is the move into cut_over (wait for more clean dual-write jobs, count backfill comparisons with --count-backfill, or move yourself: hopt phase cut_over)")
            : Apply(target, false, $"rollout start: steps {string.Join(',', plan.Steps)} % ({Limits(plan)}); step 1 of {plan.Steps.Count}: traffic {plan.Steps[0]} %{counting}", who, why)));
        State.Rollout = new Rollout(plan, 0, RolloutStage.Running, entry.After.Version, entry.At, config, "step 1: waiting for jobs", who);
        return entry;
    }

    /// <summary>
    /// Analyses the running rollout's step (after each job outcome, and on the controller's rollout reminder); returns
    /// the audit entry of what it did (promoted, paused, aborted, finished), or null when the step is still gathering jobs.
    /// </summary>
    public AuditEntry? AdvanceRollout()
    {
        if (State.Rollout is not { Stage: RolloutStage.Running } rollout)
        {
            return null;
        }

        if (rollout.StepPassed)
        {
            return Promote(rollout, rollout.Analysis);
        }

        var (count, figures, failures) = Analyse(rollout);
        var step = StepName(rollout);
        if (count < rollout.Plan.MinJobs)
        {
            // Nothing stored while a step gathers jobs (an outcome stays one insert); the status shows it live (RolloutView).
            return null;
        }

        if (failures.Count > 0)
        {
            return Abort(rollout, RolloutWho, $"{step} failed its analysis: {string.Join("; ", failures)} ({figures})");
        }

        var passed = $"{step} passed: {figures}";
        if (rollout.Step == rollout.Plan.Steps.Count - 1)
        {
            return Finish(rollout, passed);
        }

        if (rollout.Plan.PauseAfterEach)
        {
            State.Rollout = rollout with { Stage = RolloutStage.Paused, StepPassed = true, Analysis = $"{passed}; paused for a manual gate: hopt rollout resume goes to {rollout.Plan.Steps[rollout.Step + 1]} %" };
            return Append("rollout paused (step passed)", RolloutWho, passed, State.Config, State.Config);
        }

        return Promote(rollout, passed);
    }

    /// <summary>The rollout as the status shows it: a running step's analysis computed from the window as it is now.</summary>
    public Rollout? RolloutView()
    {
        if (State.Rollout is not { Stage: RolloutStage.Running, StepPassed: false } rollout)
        {
            return State.Rollout;
        }

        var (_, figures, _) = Analyse(rollout);
        return rollout with { Analysis = $"{StepName(rollout)}: waiting, {figures}; {rollout.Plan.MinJobs} Parquet jobs needed" };
    }

    private static string StepName(Rollout rollout) => $"step {rollout.Step + 1} of {rollout.Plan.Steps.Count} at {rollout.Traffic} %";

    /// <summary>Holds the rollout where it is (its traffic stays).</summary>
    public AuditEntry PauseRollout(string who, string why)
    {
        var rollout = ActiveRollout();
        if (rollout.Stage == RolloutStage.Paused)
        {
            throw new MigrationGuardException($"the rollout is already {Describe(rollout)}");
        }

        State.Rollout = rollout with { Stage = RolloutStage.Paused, Analysis = $"paused by {who}: {why}; was: {rollout.Analysis}" };
        return Append("rollout pause", who, why, State.Config, State.Config);
    }

    /// <summary>Resumes a paused rollout: after a passed step (manual gate) it promotes at once; otherwise its analysis goes on.</summary>
    public AuditEntry ResumeRollout(string who, string why)
    {
        var rollout = ActiveRollout();
        if (rollout.Stage != RolloutStage.Paused)
        {
            throw new MigrationGuardException($"the rollout is {Describe(rollout)}, not paused");
        }

        if (rollout.StepPassed)
        {
            return Promote(rollout, $"resumed by {who}: {why}", who);
        }

        State.Rollout = rollout with { Stage = RolloutStage.Running, Analysis = $"resumed by {who}; step {rollout.Step + 1}: waiting for jobs" };
        var resumed = Append("rollout resume", who, why, State.Config, State.Config);
        // Analysed at once: a step whose jobs are already in (or a refused parquet_only to try again) moves now.
        AdvanceRollout();
        return resumed;
    }

    /// <summary>Stops the rollout and puts back the settings from before its current step.</summary>
    public AuditEntry AbortRollout(string who, string why) => Abort(ActiveRollout(), who, $"aborted by {who}: {why}", why);

    private Rollout ActiveRollout() => State.Rollout is { Active: true } rollout
        ? rollout
        : throw new MigrationGuardException(State.Rollout is { } last ? $"no rollout in progress (the last one is {Describe(last)})" : "no rollout in progress");

    private AuditEntry Promote(Rollout rollout, string why, string who = RolloutWho)
    {
        var next = rollout.Step + 1;
        var before = State.Config;
        var entry = ByRollout(() => Apply(before with { TrafficPercentParquet = rollout.Plan.Steps[next] }, false,
            $"rollout step {next + 1} of {rollout.Plan.Steps.Count}: traffic {rollout.Plan.Steps[next]} %", who, why));
        State.Rollout = rollout with
        {
            Step = next, Stage = RolloutStage.Running, StepPassed = false, StepVersion = entry.After.Version, StepStartedAt = entry.At, StepStart = before,
            Analysis = $"step {next + 1}: waiting for jobs",
        };
        return entry;
    }

    private AuditEntry Finish(Rollout rollout, string passed)
    {
        if (!rollout.Plan.Complete)
        {
            State.Rollout = rollout with { Stage = RolloutStage.Finished, Analysis = $"{passed}; every step passed: the move to parquet_only is left to a person (hopt phase parquet_only)" };
            return Append("rollout finished", RolloutWho, passed, State.Config, State.Config);
        }

        if (GuardFailure(MigrationPhase.ParquetOnly) is { } refused)
        {
            GuardRefusal = refused;
            State.Rollout = rollout with { Stage = RolloutStage.Paused, Analysis = $"{passed}; parquet_only refused: {refused}; hopt rollout resume tries again" };
            return Append("rollout paused (parquet_only refused)", RolloutWho, refused, State.Config, State.Config);
        }

        var entry = ByRollout(() => Apply(PhaseMachine.Enter(State.Config, MigrationPhase.ParquetOnly), false, "rollout complete: parquet_only", RolloutWho, passed));
        State.Rollout = rollout with { Stage = RolloutStage.Finished, Analysis = $"{passed}; moved to parquet_only (--complete)" };
        return entry;
    }

    private AuditEntry Abort(Rollout rollout, string who, string analysis, string? why = null)
    {
        var entry = ByRollout(() => Apply(rollout.StepStart, false, $"rollout abort at step {rollout.Step + 1} of {rollout.Plan.Steps.Count}", who, why ?? analysis));
        State.Rollout = rollout with { Stage = RolloutStage.Aborted, Analysis = $"{analysis}; back to {Name(entry.After.Phase)} at traffic {entry.After.TrafficPercentParquet} %" };
        return entry;
    }

    /// <summary>Counts <paramref name="outcome"/> towards the active rollout's step when it was routed at that step.</summary>
    private void CountAtStep(JobOutcome outcome)
    {
        if (State.Rollout is { Active: true } rollout && TallyOf(rollout) is var tally && tally.Counts(outcome))
        {
            State.StepTally = tally.Add(outcome);
        }
    }

    /// <summary>The tally of <paramref name="rollout"/>'s current step (empty when the step has just begun).</summary>
    private StepTally TallyOf(Rollout rollout) => State.StepTally is { } tally && tally.Version == rollout.StepVersion && tally.Traffic == rollout.Traffic
        ? tally
        : new StepTally(rollout.StepVersion, rollout.Traffic);

    /// <summary>The step's Parquet jobs (every one routed at the step, not only the window's), their figures in words, and the limits they break.</summary>
    private (int Count, string Figures, List<string> Failures) Analyse(Rollout rollout)
    {
        var step = TallyOf(rollout);
        var rate = step.Attempted == 0 ? 0 : (double)step.BackendFailures / step.Attempted;
        var p95 = Percentile([.. step.ParquetSeconds.Order()], 0.95);
        double? match = step.Compared == 0 ? null : (double)step.Matched / step.Compared;
        var figures = string.Create(CultureInfo.InvariantCulture,
            $"{step.ParquetJobs} Parquet jobs, error rate {rate:P1} ({step.BackendFailures} backend failures), p95 {p95:F2} s, match rate {(match is { } m ? m.ToString("P1", CultureInfo.InvariantCulture) : "n/a")} over {step.Compared} compared");
        var plan = rollout.Plan;
        var failures = new List<string>();
        if (rate > plan.MaxErrorRate)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"error rate {rate:P1} above {plan.MaxErrorRate:P1}"));
        }

        if (plan.MaxP95Seconds is { } limit && p95 > limit)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"p95 {p95:F3} s above {limit:G4} s"));
        }

        if (plan.MinMatchRate is { } least && (match is null || match < least))
        {
            failures.Add(match is null ? "no job at this step was compared" : string.Create(CultureInfo.InvariantCulture, $"match rate {match:P1} below {least:P1}"));
        }

        return (step.ParquetJobs, figures, failures);
    }

    /// <summary>Runs a settings change the rollout itself makes (so it does not stop the rollout).</summary>
    private AuditEntry ByRollout(Func<AuditEntry> change) => With(on => _byRollout = on, true, change);

    /// <summary>After a change not made by the rollout: an active rollout stops where it stands, naming the change.</summary>
    private void StopRolloutFor(AuditEntry entry)
    {
        if (!_byRollout && State.Rollout is { Active: true } rollout)
        {
            var why = $"stopped at step {rollout.Step + 1}: the settings were changed by {entry.Who} (#{entry.Sequence} {entry.Action}: {entry.Why}); traffic left as that change set it";
            State.Rollout = rollout with { Stage = RolloutStage.Aborted, Analysis = why };
            Append("rollout stopped", RolloutWho, why, State.Config, State.Config);
        }
    }

    private static string Limits(RolloutPlan plan) => string.Create(CultureInfo.InvariantCulture,
        $"each step: at least {plan.MinJobs} Parquet jobs, error rate at most {plan.MaxErrorRate:P1}{(plan.MaxP95Seconds is { } p ? $", p95 at most {p:G4} s" : string.Empty)}{(plan.MinMatchRate is { } m ? $", match rate at least {m:P1}" : string.Empty)}{(plan.PauseAfterEach ? ", a manual gate after each" : string.Empty)}{(plan.Complete ? ", then parquet_only" : string.Empty)}");

    private static string Describe(Rollout rollout) =>
        $"{rollout.Stage.ToString().ToLowerInvariant()} at step {rollout.Step + 1} of {rollout.Plan.Steps.Count} ({rollout.Traffic} %)";
}
