using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Migration;
using Microsoft.Extensions.Time.Testing;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>
/// The automatic rollout's analysis, driven by a fake clock and injected job outcomes: promotion through every step,
/// an abort on each metric (back to the step's start), pause and resume, the manual gate, completion, refusals, and
/// a change of the settings by anyone else stopping it. Backfill comparisons and the guard that may count them.
/// </summary>
public class RolloutPolicyTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly MigrationControllerState _state = new();
    private int _jobs;

    private MigrationPolicy Policy => new(_state, new MigrationPolicyOptions(), _clock);

    /// <summary>A policy in cut_over with dual-write on (forced past the guard, as a test set-up).</summary>
    private MigrationPolicy InCutOver()
    {
        Policy.SetPhase(MigrationPhase.DualWrite, false, "setup", "mirror");
        Policy.SetPhase(MigrationPhase.CutOver, true, "setup", "test");
        return Policy;
    }

    /// <summary>Records a job routed under the settings in force, on <paramref name="backend"/>, one clock second later.</summary>
    private AuditEntry? Job(string backend = "parquet", bool ok = true, double seconds = 1, bool? consistent = true)
    {
        _clock.Advance(TimeSpan.FromSeconds(1));
        var c = _state.Config;
        var route = new Route(backend, consistent is null ? null : backend == "parquet" ? "heavydb" : "parquet", c.Version, consistent is not null, c.Phase, c.TrafficPercentParquet);
        return Policy.Record(new JobOutcome($"job-{_jobs++}", backend, ok, seconds, ok ? consistent : null, 0, _clock.GetUtcNow(), ok ? null : FailureCause.Backend, route, 0.1));
    }

    private Rollout Rollout => _state.Rollout!;

    [Fact]
    public void Steps_promote_when_their_analysis_passes_and_the_last_leaves_parquet_only_to_a_person()
    {
        var start = InCutOver().StartRollout(new RolloutPlan([5, 25, 100], MinJobs: 3, MaxP95Seconds: 10), "alice", "progressive");
        Assert.Equal((5, RolloutStage.Running), (_state.Config.TrafficPercentParquet, Rollout.Stage));
        Assert.Contains("rollout start: steps 5,25,100", start.Action, StringComparison.Ordinal);

        Job();
        Job("heavydb");
        var stored = _state.Rollout;
        Job();
        // A step gathering jobs stores nothing (each outcome stays one insert); the status computes the figures live.
        Assert.Same(stored, _state.Rollout);
        Assert.Equal(0, Rollout.Step);
        Assert.Contains("waiting, 2 Parquet jobs", Policy.RolloutView()!.Analysis, StringComparison.Ordinal);
        Job();
        Assert.Equal((1, 25), (Rollout.Step, _state.Config.TrafficPercentParquet));
        Assert.Equal(_clock.GetUtcNow(), Rollout.StepStartedAt);

        // Jobs routed at the previous weight do not count for this step.
        var stale = new JobOutcome("late", "parquet", true, 1, true, 0, _clock.GetUtcNow(), null, new Route("parquet", "heavydb", _state.Config.Version - 1, true, MigrationPhase.CutOver, 5), 0.1);
        Policy.Record(stale);
        Assert.Contains("waiting, 0 Parquet jobs", Policy.Status([]).Rollout!.Analysis, StringComparison.Ordinal);

        for (var i = 0; i < 6; i++)
        {
            Job();
        }

        Assert.Equal((RolloutStage.Finished, 100, MigrationPhase.CutOver), (Rollout.Stage, _state.Config.TrafficPercentParquet, _state.Config.Phase));
        Assert.Contains("left to a person", Rollout.Analysis, StringComparison.Ordinal);
        var actions = _state.NewAudit.Select(a => a.Action).Where(a => a.StartsWith("rollout", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, actions.Count);
        Assert.StartsWith("rollout start", actions[0], StringComparison.Ordinal);
        Assert.Equal(["rollout step 2 of 3: traffic 25 %", "rollout step 3 of 3: traffic 100 %", "rollout finished"], actions.Skip(1));
    }

    [Fact]
    public void A_step_counts_every_job_routed_at_it_not_only_the_windows_and_a_restart_counts_them_again()
    {
        // At 5 % the window of 200 outcomes holds about 10 Parquet jobs: a step needing 20 must count past it.
        var window = new MigrationPolicyOptions().WindowSize;
        InCutOver().StartRollout(new RolloutPlan([5, 25], MinJobs: 20), "alice", "progressive");
        for (var i = 0; i < 19 * 20; i++)
        {
            Job(i % 20 == 0 ? "parquet" : "heavydb");
        }

        Assert.True(19 * 20 > window);
        Assert.Equal(0, Rollout.Step);
        Assert.Contains("waiting, 19 Parquet jobs", Policy.RolloutView()!.Analysis, StringComparison.Ordinal);

        // The controller reactivates: the step's outcomes come back from the outcome table, all of them.
        var stored = _state.Window.ToList();
        var restarted = new MigrationControllerState { Config = _state.Config, Rollout = _state.Rollout, WindowSince = _state.WindowSince };
        var outcomes = Enumerable.Range(0, 19 * 20).Select(i => new JobOutcome($"job-{i}", i % 20 == 0 ? "parquet" : "heavydb", true, 1, true, 0, _clock.GetUtcNow(), null,
            new Route(i % 20 == 0 ? "parquet" : "heavydb", i % 20 == 0 ? "heavydb" : "parquet", _state.Config.Version, true, MigrationPhase.CutOver, 5), 0.1)).ToList();
        var again = new MigrationPolicy(restarted, new MigrationPolicyOptions(), _clock);
        again.Rebuild(_state.JobsRecorded, stored, 0, false, outcomes);
        Assert.Contains("waiting, 19 Parquet jobs", again.RolloutView()!.Analysis, StringComparison.Ordinal);

        Job();
        Assert.Equal((1, 25), (Rollout.Step, _state.Config.TrafficPercentParquet));
        Assert.Contains("step 1 of 2 at 5 % passed: 20 Parquet jobs", _state.NewAudit[^1].Why, StringComparison.Ordinal);
    }

    public static TheoryData<string, RolloutPlan, bool, double, bool?> Failures() => new()
    {
        { "error rate 50.0 % above 25.0 %", new RolloutPlan([10, 50], MinJobs: 4, MaxErrorRate: 0.25), false, 1, true },
        { "p95 9.000 s above 5 s", new RolloutPlan([10, 50], MinJobs: 4, MaxP95Seconds: 5), true, 9, true },
        { "match rate 50.0 % below 100.0 %", new RolloutPlan([10, 50], MinJobs: 4, MinMatchRate: 1), true, 1, false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_step_that_breaks_a_limit_aborts_back_to_the_settings_from_before_it(string metric, RolloutPlan plan, bool ok, double seconds, bool? consistent)
    {
        var policy = InCutOver();
        policy.SetTraffic(3, "setup", "before the rollout");
        var before = _state.Config;
        // A match-rate plan must not trip the automatic rollback on a mismatch first: that one is tested below.
        _state.Config = _state.Config with { RollbackOnValidationFailure = false };
        Policy.StartRollout(plan, "alice", $"abort on {metric}");
        Job();
        Job();
        Job(ok: ok, seconds: seconds, consistent: consistent);
        Assert.Equal(RolloutStage.Running, Rollout.Stage);
        var abort = Job(ok: ok, seconds: seconds, consistent: consistent);
        Assert.Null(abort);
        Assert.Equal(RolloutStage.Aborted, Rollout.Stage);
        Assert.Contains(metric, Rollout.Analysis, StringComparison.Ordinal);
        Assert.Equal(3, _state.Config.TrafficPercentParquet);
        Assert.Equal(before.Phase, _state.Config.Phase);
        var entry = _state.NewAudit.Last(a => a.Action.StartsWith("rollout abort", StringComparison.Ordinal));
        Assert.Contains(metric, entry.Why, StringComparison.Ordinal);
        Assert.Contains("4 Parquet jobs", entry.Why, StringComparison.Ordinal);
        Assert.Equal(3, entry.After.TrafficPercentParquet);
    }

    [Fact]
    public void Pause_resume_and_the_manual_gate_hold_the_traffic_until_a_person_says_go()
    {
        InCutOver().StartRollout(new RolloutPlan([10, 20], MinJobs: 1, PauseAfterEach: true), "alice", "gated");
        Job();
        Assert.Equal((RolloutStage.Paused, 10), (Rollout.Stage, _state.Config.TrafficPercentParquet));
        Job();
        Assert.Equal(10, _state.Config.TrafficPercentParquet);
        Assert.Throws<MigrationGuardException>(() => Policy.PauseRollout("bob", "again"));
        Policy.ResumeRollout("bob", "looks good");
        Assert.Equal((RolloutStage.Running, 20, 1), (Rollout.Stage, _state.Config.TrafficPercentParquet, Rollout.Step));

        Policy.PauseRollout("bob", "investigating");
        Job();
        Assert.Equal(RolloutStage.Paused, Rollout.Stage);
        Assert.Throws<MigrationGuardException>(() => Policy.StartRollout(new RolloutPlan([50]), "carol", "second"));
        Policy.ResumeRollout("bob", "carry on");
        Job();
        Assert.Equal(RolloutStage.Finished, Rollout.Stage);
        Assert.Throws<MigrationGuardException>(() => Policy.ResumeRollout("bob", "nothing to resume"));
    }

    [Fact]
    public void An_operator_abort_restores_the_step_start_and_a_change_by_anyone_else_stops_the_rollout()
    {
        InCutOver().StartRollout(new RolloutPlan([10, 60], MinJobs: 1), "alice", "one");
        Job();
        Assert.Equal(60, _state.Config.TrafficPercentParquet);
        Policy.AbortRollout("bob", "saw something odd");
        Assert.Equal((RolloutStage.Aborted, 10), (Rollout.Stage, _state.Config.TrafficPercentParquet));
        Assert.Throws<MigrationGuardException>(() => Policy.AbortRollout("bob", "twice"));

        Policy.StartRollout(new RolloutPlan([30, 90], MinJobs: 5), "alice", "two");
        Policy.SetTraffic(15, "carol", "by hand");
        Assert.Equal(RolloutStage.Aborted, Rollout.Stage);
        Assert.Contains("changed by carol", Rollout.Analysis, StringComparison.Ordinal);
        for (var i = 0; i < 6; i++)
        {
            Job();
        }

        Assert.Equal(15, _state.Config.TrafficPercentParquet);
    }

    [Fact]
    public void An_automatic_rollback_stops_the_rollout_and_complete_moves_to_parquet_only_through_its_guard()
    {
        InCutOver().StartRollout(new RolloutPlan([50], MinJobs: 3), "alice", "rollback");
        Job(consistent: false);
        Assert.Equal((MigrationPhase.HeavyDbOnly, RolloutStage.Aborted), (_state.Config.Phase, Rollout.Stage));
        Assert.Contains(MigrationPolicy.AutomaticRollback, Rollout.Analysis, StringComparison.Ordinal);

        InCutOver().StartRollout(new RolloutPlan([100], MinJobs: 20, Complete: true), "alice", "all the way");
        for (var i = 0; i < 20; i++)
        {
            Job();
        }

        Assert.Equal((MigrationPhase.ParquetOnly, RolloutStage.Finished), (_state.Config.Phase, Rollout.Stage));
        Assert.Equal("rollout complete: parquet_only", _state.NewAudit[^1].Action);
    }

    [Fact]
    public void Starting_is_refused_outside_its_phases_with_a_bad_plan_or_before_the_cut_over_guard_holds()
    {
        Assert.Throws<MigrationGuardException>(() => Policy.StartRollout(new RolloutPlan([10]), "a", "heavydb_only"));
        Policy.SetPhase(MigrationPhase.DualWrite, false, "a", "mirror");
        var guard = Assert.Throws<MigrationGuardException>(() => Policy.StartRollout(new RolloutPlan([10]), "a", "too soon"));
        Assert.Contains("first step is the move into cut_over", guard.Message, StringComparison.Ordinal);
        Assert.Null(_state.Rollout);
        foreach (var bad in new[] { new RolloutPlan([]), new RolloutPlan([0, 10]), new RolloutPlan([50, 20]), new RolloutPlan([10, 50], Complete: true), new RolloutPlan([10], MinJobs: 0) })
        {
            Assert.Throws<ArgumentException>(() => Policy.StartRollout(bad, "a", "bad plan"));
        }

        Assert.Throws<ArgumentException>(() => Policy.StartRollout(new RolloutPlan([10]), "a", " "));
        _state.Config = _state.Config with { ValidationEnabled = false };
        Assert.Throws<MigrationGuardException>(() => Policy.StartRollout(new RolloutPlan([10], MinMatchRate: 1), "a", "nothing compared"));
    }

    [Fact]
    public void Backfill_comparisons_stay_out_of_the_window_and_count_for_cut_over_only_when_asked_and_all_clean()
    {
        Policy.SetPhase(MigrationPhase.DualWrite, false, "a", "mirror");
        var options = new MigrationPolicyOptions();
        JobOutcome Shadow(string original, bool? consistent) => new(original, "heavydb", true, 1, consistent, 0, _clock.GetUtcNow());
        for (var i = 0; i < options.CleanDualWriteJobsForCutOver; i++)
        {
            Policy.RecordBackfill(Shadow($"job-{i}", true));
        }

        // The same job validated again counts once (its latest verdict), so no job can be counted twice.
        Policy.RecordBackfill(Shadow("job-0", true));
        Assert.Equal((20, 20, 0), (_state.Backfill.Compared, _state.Backfill.Matched, _state.Window.Count));
        Assert.Throws<MigrationGuardException>(() => Policy.SetPhase(MigrationPhase.CutOver, false, "a", "not counted"));

        // A known mismatch refuses cut_over, counted or not, until that job validates clean again.
        Policy.RecordBackfill(Shadow("job-bad", false));
        var refused = Assert.Throws<MigrationGuardException>(() => Policy.SetPhase(MigrationPhase.CutOver, false, "a", "one mismatched", countBackfill: true));
        Assert.Contains("1 mismatched", refused.Message, StringComparison.Ordinal);
        Assert.Contains("1 mismatched", Assert.Throws<MigrationGuardException>(() => Policy.SetPhase(MigrationPhase.CutOver, false, "a", "not counted")).Message, StringComparison.Ordinal);
        Policy.RecordBackfill(Shadow("job-bad", true));
        var entry = Policy.SetPhase(MigrationPhase.CutOver, false, "a", "backfilled", countBackfill: true);
        Assert.Equal("phase cut_over (counting 21 clean backfill comparisons)", entry.Action);
        Assert.Equal(21, _state.Backfill.Compared);
        Policy.SetPhase(MigrationPhase.DualWrite, false, "a", "back: validate afresh");
        Assert.Empty(_state.Backfill.Verdicts);
    }

    [Fact]
    public void A_rollout_never_lowers_the_traffic_a_refused_parquet_only_pauses_it_and_resume_tries_again_at_once()
    {
        var policy = InCutOver();
        policy.SetTraffic(50, "setup", "half");
        Assert.Contains("below the traffic in force (50 %)", Assert.Throws<ArgumentException>(() => Policy.StartRollout(new RolloutPlan([10, 100]), "a", "lower")).Message, StringComparison.Ordinal);
        Assert.Equal(50, _state.Config.TrafficPercentParquet);

        // parquet_only needs 20 clean Parquet jobs at 100 %: with --min-jobs 2 the step passes first and the move is refused.
        Policy.StartRollout(new RolloutPlan([100], MinJobs: 2, Complete: true), "a", "complete");
        Job();
        Job();
        Assert.Equal((RolloutStage.Paused, MigrationPhase.CutOver), (Rollout.Stage, _state.Config.Phase));
        Assert.Contains("parquet_only refused", Rollout.Analysis, StringComparison.Ordinal);
        Assert.DoesNotContain("--force", Rollout.Analysis, StringComparison.Ordinal);
        for (var i = 0; i < 18; i++)
        {
            Job();
        }

        Assert.Equal(RolloutStage.Paused, Rollout.Stage);
        Policy.ResumeRollout("a", "enough jobs now");
        Assert.Equal((RolloutStage.Finished, MigrationPhase.ParquetOnly), (Rollout.Stage, _state.Config.Phase));
    }

    [Fact]
    public void A_change_that_stops_the_rollout_is_audited_as_a_stop_naming_it()
    {
        InCutOver().StartRollout(new RolloutPlan([20, 40]), "a", "go");
        var manual = Policy.SetTraffic(25, "carol", "by hand");
        var stop = _state.NewAudit[^1];
        Assert.Equal(("rollout stopped", "controller"), (stop.Action, stop.Who));
        Assert.Contains($"#{manual.Sequence} traffic", stop.Why, StringComparison.Ordinal);
    }
}
