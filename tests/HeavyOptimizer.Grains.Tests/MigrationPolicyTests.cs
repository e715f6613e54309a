using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Migration;

namespace HeavyOptimizer.Grains.Tests;

public class MigrationPolicyTests
{
    private readonly MigrationPolicy _policy = new(new MigrationControllerState(), new MigrationPolicyOptions(), TimeProvider.System);
    private int _jobs;

    /// <summary>
    /// An outcome of a job routed under the settings in force (so it belongs to the current window); mirrored when it
    /// was compared; <paramref name="seconds"/> in the backend unless <paramref name="searchSeconds"/> adds a search.
    /// </summary>
    private JobOutcome Outcome(string id, string backend = "heavydb", bool ok = true, double seconds = 0.5, bool? consistent = true, double? variance = 0,
        FailureCause? cause = null, double searchSeconds = 0)
    {
        var c = _policy.State.Config;
        var secondary = consistent is null ? null : backend == "parquet" ? "heavydb" : "parquet";
        return new JobOutcome(id, backend, ok, seconds + searchSeconds, consistent, variance, DateTimeOffset.UtcNow, ok ? null : cause ?? FailureCause.Backend,
            new Route(backend, secondary, c.Version, consistent is not null, c.Phase, c.TrafficPercentParquet), seconds);
    }

    /// <summary>Records <paramref name="count"/> clean outcomes of distinct jobs on <paramref name="backend"/>.</summary>
    private void CleanJobs(int count, string backend = "heavydb")
    {
        for (var i = 0; i < count; i++)
        {
            Assert.Null(_policy.Record(Outcome($"clean-{_jobs++}", backend)));
        }
    }

    private static string Ini(string phase, string migration = "") => $"[SYSTEM]\nmigration_phase = {phase}\n[MIGRATION]\n{migration}";

    private static MigrationPolicy PolicyIn(MigrationPhase phase)
    {
        var policy = new MigrationPolicy(new MigrationControllerState(), new MigrationPolicyOptions(), TimeProvider.System);
        if (phase != MigrationPhase.HeavyDbOnly)
        {
            policy.SetPhase(phase, force: true, "setup", "test phase");
        }

        return policy;
    }

    public static TheoryData<MigrationPhase, MigrationPhase, bool, string> EveryMove()
    {
        // The table of docs/RUNBOOK.md, with no guard met: "allowed", "forced" (allowed only with force), or "refused".
        var data = new TheoryData<MigrationPhase, MigrationPhase, bool, string>();
        foreach (var from in Enum.GetValues<MigrationPhase>())
        {
            foreach (var to in Enum.GetValues<MigrationPhase>())
            {
                foreach (var force in new[] { false, true })
                {
                    var guarded = to - from == 2 || to - from == 3 || (to - from == 1 && to != MigrationPhase.DualWrite);
                    data.Add(from, to, force, !guarded ? "allowed" : force ? "forced" : "refused");
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryMove))]
    public void Every_phase_move_obeys_the_one_table_through_the_command_and_the_import(MigrationPhase from, MigrationPhase to, bool force, string expected)
    {
        foreach (var path in new[] { "command", "import" })
        {
            var policy = PolicyIn(from);
            var audited = policy.State.NewAudit.Count;
            Func<AuditEntry> move = path == "command"
                ? () => policy.SetPhase(to, force, "ops", "move")
                : () => policy.Import(Ini(MigrationPhases.Name(to)), force, false, "ops", "move").Entry;
            if (expected == "refused")
            {
                var refusal = Assert.Throws<MigrationGuardException>(move);
                Assert.Contains("--force", refusal.Message, StringComparison.Ordinal);
                Assert.Equal((from, audited), (policy.State.Config.Phase, policy.State.NewAudit.Count));
                continue;
            }

            var entry = move();
            Assert.Equal(to, policy.State.Config.Phase);
            Assert.Null(PhaseMachine.Inconsistency(policy.State.Config));
            Assert.Equal(expected == "forced", entry.Action.EndsWith("(forced)", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_validation_stage_cannot_be_skipped_by_raising_traffic_first()
    {
        var traffic = Assert.Throws<MigrationGuardException>(() => _policy.SetTraffic(100, "ops", "all in"));
        Assert.Contains("only in cut_over (the phase is heavydb_only)", traffic.Message, StringComparison.Ordinal);
        var skip = Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "done"));
        Assert.Contains("skips dual_write and cut_over", skip.Message, StringComparison.Ordinal);

        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "mirror");
        Assert.Contains("the phase is dual_write", Assert.Throws<MigrationGuardException>(() => _policy.SetTraffic(50, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Contains("the phase is dual_write", Assert.Throws<MigrationGuardException>(() => _policy.SetDualWrite(false, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Equal((MigrationPhase.DualWrite, true, 0, 1), (_policy.State.Config.Phase, _policy.State.Config.DualWrite, _policy.State.Config.TrafficPercentParquet, _policy.State.NewAudit.Count));
    }

    [Fact]
    public void Cut_over_needs_twenty_clean_dual_write_jobs_since_dual_write_began()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        CleanJobs(19);
        var refused = Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.CutOver, false, "ops", "go"));
        Assert.Contains("at least 20 clean dual-write jobs", refused.Message, StringComparison.Ordinal);

        // Leaving dual_write and coming back starts the count again.
        _policy.SetPhase(MigrationPhase.HeavyDbOnly, false, "ops", "pause");
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "again");
        CleanJobs(1);
        Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.CutOver, false, "ops", "go"));

        CleanJobs(19);
        _policy.SetPhase(MigrationPhase.CutOver, false, "ops", "go");
        Assert.Equal((MigrationPhase.CutOver, true, 0), (_policy.State.Config.Phase, _policy.State.Config.DualWrite, _policy.State.Config.TrafficPercentParquet));
    }

    [Fact]
    public void Parquet_only_needs_traffic_100_and_twenty_clean_parquet_jobs_at_100_and_no_mismatch()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        _policy.SetTraffic(90, "ops", "most");
        CleanJobs(30, "parquet");
        var at90 = Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "x")).Message;
        Assert.Contains("traffic at 100 % (it is 90 %", at90, StringComparison.Ordinal);
        Assert.Contains("(there are 0)", at90, StringComparison.Ordinal);

        _policy.SetTraffic(100, "ops", "all");
        CleanJobs(19, "parquet");
        Assert.Contains("(there are 19)", Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "x")).Message, StringComparison.Ordinal);
        CleanJobs(1, "parquet");
        _policy.State.Config = _policy.State.Config with { RollbackOnValidationFailure = false };
        _policy.Record(Outcome("bad", "parquet", consistent: false));
        Assert.Contains("no consistency mismatch", Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "x")).Message, StringComparison.Ordinal);

        _policy.State.Window.RemoveAll(o => o.JobId == "bad");
        _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "done");
        Assert.Equal(("parquet", 100, false), (_policy.State.Config.PrimaryBackend, _policy.State.Config.TrafficPercentParquet, _policy.State.Config.DualWrite));
    }

    [Fact]
    public void An_import_is_one_target_state_checked_whole_and_applied_all_or_nothing()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        _policy.SetTraffic(100, "ops", "all");
        var before = (_policy.State.Config, _policy.State.NewAudit.Count);

        var half = Assert.Throws<MigrationGuardException>(() => _policy.Import(Ini("parquet_only", "traffic_percentage_parquet = 50"), true, false, "ops", "x"));
        Assert.Contains("traffic_percentage_parquet must be 100, not 50", half.Message, StringComparison.Ordinal);
        var twins = Assert.Throws<MigrationGuardException>(() => _policy.Import(Ini("dual_write", "primary_backend = parquet\nsecondary_backend = parquet"), true, false, "ops", "x"));
        Assert.Contains("both parquet", twins.Message, StringComparison.Ordinal);
        Assert.Contains("unknown key validaton_enabled", Assert.Throws<FormatException>(() => _policy.Import(Ini("cut_over", "validaton_enabled = false"), false, false, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Contains("unknown section [MIGRATON]", Assert.Throws<FormatException>(() => _policy.Import("[SYSTEM]\n[MIGRATION]\n[MIGRATON]\nx = 1", false, false, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Contains("no [MIGRATION] section", Assert.Throws<FormatException>(() => _policy.Import("[SYSTEM]\nmigration_phase = cut_over", false, false, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Contains("line 5", Assert.Throws<FormatException>(() => _policy.Import(Ini("heavydb_only", "enable_dual_write = false\ntraffic_percentage_parquet = lots"), false, false, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Equal(before, (_policy.State.Config, _policy.State.NewAudit.Count));

        // The phase named brings its settings: dual_write mirrors even though the file does not say so.
        var dual = _policy.Import(Ini("dual_write"), false, false, "ops", "back to mirroring");
        Assert.Equal((MigrationPhase.DualWrite, true, 0), (dual.Entry.After.Phase, dual.Entry.After.DualWrite, dual.Entry.After.TrafficPercentParquet));
        var skipped = _policy.Import(Ini("dual_write", "workers = 4"), false, true, "ops", "with an unknown key");
        Assert.Contains(skipped.Notes, n => n.Contains("unknown key workers", StringComparison.Ordinal));
    }

    [Fact]
    public void Bad_input_never_counts_against_a_backend_or_rolls_anything_back()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        _policy.SetTraffic(50, "ops", "half");
        for (var i = 0; i < 50; i++)
        {
            Assert.Null(_policy.Record(Outcome($"bad-file-{i}", i % 2 == 0 ? "heavydb" : "parquet", ok: false, consistent: null, cause: FailureCause.Input)));
        }

        var status = _policy.Status([]);
        Assert.Equal(MigrationPhase.CutOver, status.Config.Phase);
        Assert.All(status.Backends, b => Assert.Equal((0, 0.0, 25), (b.BackendErrors, b.ErrorRate, b.InputFailures)));
    }

    [Fact]
    public void Backend_failures_roll_back_once_and_the_next_phase_starts_a_fresh_window()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        AuditEntry? rollback = null;
        for (var i = 0; i < 40 && rollback is null; i++)
        {
            rollback = _policy.Record(Outcome($"e{i}", "parquet", ok: i % 10 != 0, consistent: null));
        }

        Assert.NotNull(rollback);
        Assert.Contains("parquet error rate", rollback.Why, StringComparison.Ordinal);
        Assert.Equal(MigrationPhase.HeavyDbOnly, _policy.State.Config.Phase);

        // Before the fix every clean job after this re-triggered the rollback from the old window's errors.
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "try again");
        CleanJobs(5);
        Assert.Equal(MigrationPhase.DualWrite, _policy.State.Config.Phase);
        Assert.DoesNotContain(_policy.Status([]).Backends, b => b.BackendErrors > 0);

        // A job routed before the phase change reports late: counted once, outside the new window.
        var late = new JobOutcome("late", "parquet", false, 1, null, null, DateTimeOffset.UtcNow, FailureCause.Backend, new Route("parquet", null, 1, false, MigrationPhase.CutOver));
        Assert.Null(_policy.Record(late));
        Assert.DoesNotContain(_policy.State.Window, o => o.JobId == "late");
    }

    [Theory]
    [InlineData("variance")]
    [InlineData("runtime")]
    [InlineData("consistency")]
    public void Section_9_triggers_roll_back_automatically(string trigger)
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        AuditEntry? rollback = null;
        for (var i = 0; i < 40 && rollback is null; i++)
        {
            rollback = trigger switch
            {
                "variance" => _policy.Record(Outcome($"v{i}", "parquet", variance: 0.02)),
                "runtime" => _policy.Record(Outcome($"r{i}", "parquet", seconds: 6)),
                _ => _policy.Record(Outcome($"c{i}", "parquet", consistent: false)),
            };
        }

        Assert.NotNull(rollback);
        Assert.Equal(("controller", "automatic rollback", MigrationPhase.HeavyDbOnly), (rollback.Who, rollback.Action, _policy.State.Config.Phase));
        Assert.Contains(trigger switch { "variance" => "differ by", "runtime" => "backend time p95", _ => "consistency check failed" }, rollback.Why, StringComparison.Ordinal);
        Assert.Empty(_policy.State.Window);
    }

    [Fact]
    public void A_long_search_the_requester_asked_for_is_not_a_slow_backend()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        _policy.SetTraffic(100, "ops", "all");
        for (var i = 0; i < 20; i++)
        {
            Assert.Null(_policy.Record(Outcome($"timed-{i}", "parquet", seconds: 0.3, consistent: null, searchSeconds: 10)));
        }

        Assert.Equal(MigrationPhase.CutOver, _policy.State.Config.Phase);
        var parquet = _policy.Status([]).Backends.Single();
        Assert.Equal((10.3, 0.3), (parquet.P95Seconds, parquet.P95BackendSeconds));
    }

    [Fact]
    public void Mirrored_jobs_that_were_never_compared_do_not_make_settings_last_known_good()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.SetValidation(false, null, "ops", "no comparisons");
        for (var i = 0; i < 25; i++)
        {
            var c = _policy.State.Config;
            _policy.Record(new JobOutcome($"unchecked-{i}", "heavydb", true, 0.2, null, null, DateTimeOffset.UtcNow, null, new Route("heavydb", "parquet", c.Version, false, c.Phase), 0.2));
        }

        Assert.Null(_policy.State.LastKnownGood);
        _policy.SetValidation(true, null, "ops", "compare again");
        CleanJobs(20);
        Assert.True(_policy.State.LastKnownGood!.ValidationEnabled);
    }

    [Fact]
    public void Match_rate_is_unknown_until_something_was_compared()
    {
        for (var i = 0; i < 3; i++)
        {
            _policy.Record(Outcome($"plain-{i}", consistent: null));
        }

        Assert.Null(_policy.Status([]).MatchRate);
        Assert.Equal(0, _policy.Status([]).DualWriteJobs);

        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.State.Config = _policy.State.Config with { RollbackOnValidationFailure = false };
        _policy.Record(Outcome("same", consistent: true));
        _policy.Record(Outcome("different", consistent: false));
        Assert.Equal((2, 1, 0.5), (_policy.Status([]).DualWriteJobs, _policy.Status([]).CleanDualWriteJobs, _policy.Status([]).MatchRate));
    }

    [Fact]
    public void Each_phase_routes_as_the_runbook_describes()
    {
        Assert.Equal(("heavydb", null, false), Short(_policy.RouteFor("a")));

        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "start dual-write");
        Assert.Equal(("heavydb", "parquet", true), Short(_policy.RouteFor("a")));

        _policy.SetPhase(MigrationPhase.CutOver, force: true, "ops", "test");
        _policy.SetTraffic(100, "ops", "all in");
        Assert.Equal(("parquet", "heavydb", true), Short(_policy.RouteFor("a")));
        Assert.Equal((MigrationPhase.CutOver, 100), (_policy.RouteFor("a").Phase, _policy.RouteFor("a").TrafficPercent));

        _policy.SetPhase(MigrationPhase.ParquetOnly, true, "ops", "done");
        Assert.Equal(("parquet", null, false), Short(_policy.RouteFor("a")));
    }

    [Fact]
    public void Routing_at_25_percent_sends_22_to_28_percent_of_4000_jobs_to_parquet_and_is_stable_per_id()
    {
        _policy.SetPhase(MigrationPhase.CutOver, force: true, "test", "routing");
        _policy.SetTraffic(25, "test", "routing");
        var ids = Enumerable.Range(0, 4000).Select(i => $"job-{i:D5}").ToArray();
        var routes = ids.Select(_policy.RouteFor).ToArray();

        Assert.InRange(routes.Count(r => r.Primary == "parquet") / 4000.0, 0.22, 0.28);
        Assert.Equal(routes, ids.Select(_policy.RouteFor));
        Assert.All(routes, r => Assert.Equal(_policy.State.Config.Version, r.ConfigVersion));
    }

    [Fact]
    public void A_disabled_backend_gets_no_jobs()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.SetBackendDisabled("parquet", true, false, "ops", "parquet host down");
        Assert.Equal(("heavydb", null, false), Short(_policy.RouteFor("x")));
        Assert.Contains("no backend for any job", Assert.Throws<MigrationGuardException>(() => _policy.SetBackendDisabled("heavydb", true, true, "ops", "both")).Message, StringComparison.Ordinal);

        _policy.SetBackendDisabled("parquet", false, false, "ops", "back");
        _policy.SetBackendDisabled("heavydb", true, false, "ops", "heavydb maintenance");
        Assert.Equal("parquet", _policy.RouteFor("x").Primary);
    }

    [Fact]
    public void Disabling_the_backend_a_single_backend_phase_runs_on_needs_force()
    {
        Assert.Contains("heavydb_only runs every job on heavydb", Assert.Throws<MigrationGuardException>(() => _policy.SetBackendDisabled("heavydb", true, false, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Equal("heavydb", _policy.RouteFor("x").Primary);
        _policy.SetBackendDisabled("parquet", true, false, "ops", "parquet is not used in heavydb_only");
        _policy.SetBackendDisabled("parquet", false, false, "ops", "back");
        var forced = _policy.SetBackendDisabled("heavydb", true, true, "ops", "heavydb host replaced tonight");
        Assert.Equal("disable heavydb (forced)", forced.Action);
        Assert.Equal("parquet", _policy.RouteFor("x").Primary);
    }

    [Fact]
    public void Emergency_rollback_resets_phase_dual_write_and_traffic_in_one_audited_step()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        _policy.SetDualWrite(true, "ops", "mirror");
        _policy.SetTraffic(50, "ops", "half");
        var before = _policy.State.NewAudit.Count;

        var entry = _policy.EmergencyRollback("oncall", "P1: parquet results wrong");

        Assert.Equal(before + 1, _policy.State.NewAudit.Count);
        Assert.Equal((MigrationPhase.HeavyDbOnly, false, 0, "emergency rollback"), (entry.After.Phase, entry.After.DualWrite, entry.After.TrafficPercentParquet, entry.Action));
    }

    [Fact]
    public void Checkpoints_and_last_known_good_restore_settings_as_a_new_version_through_the_same_table()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.Checkpoint("1.1", false, "ops", "infrastructure ready");
        Assert.Contains("no last-known-good", Assert.Throws<MigrationGuardException>(() => _policy.RollbackTo("last-known-good", false, "ops", "x")).Message, StringComparison.Ordinal);
        CleanJobs(20);
        var good = _policy.State.Config;
        _policy.SetPhase(MigrationPhase.CutOver, false, "ops", "cut");
        _policy.Checkpoint("2.0", false, "ops", "cutting over");
        _policy.SetTraffic(40, "ops", "more");

        var restored = _policy.RollbackTo("last-known-good", false, "ops", "cut-over misbehaves");
        Assert.Equal(good with { Version = restored.After.Version }, restored.After);

        // A checkpoint ahead of today's phase is a forward move like any other.
        _policy.EmergencyRollback("ops", "drill");
        Assert.Contains("skips dual_write", Assert.Throws<MigrationGuardException>(() => _policy.RollbackTo("2.0", false, "ops", "x")).Message, StringComparison.Ordinal);
        Assert.Equal("rollback to 2.0 (forced)", _policy.RollbackTo("2.0", true, "ops", "on purpose").Action);
        Assert.Throws<MigrationGuardException>(() => _policy.RollbackTo("9.9", false, "ops", "x"));
    }

    [Fact]
    public void A_checkpoint_name_is_overwritten_only_on_purpose()
    {
        _policy.Checkpoint("before-cutover", false, "alice", "baseline");
        var again = Assert.Throws<MigrationGuardException>(() => _policy.Checkpoint("before-cutover", false, "bob", "oops"));
        Assert.Contains("exists (#1", again.Message, StringComparison.Ordinal);
        Assert.Contains("--replace", again.Message, StringComparison.Ordinal);
        Assert.Equal("checkpoint before-cutover (replaced)", _policy.Checkpoint("before-cutover", true, "bob", "new baseline").Action);
        Assert.Throws<ArgumentException>(() => _policy.Checkpoint("../x", false, "bob", "path"));
        Assert.Throws<ArgumentException>(() => _policy.Checkpoint("LAST-KNOWN-GOOD", false, "bob", "shadow"));
    }

    [Fact]
    public void Every_change_needs_a_reason_and_leaves_nothing_when_refused()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        var audited = _policy.State.NewAudit.Count;
        Assert.Throws<ArgumentException>(() => _policy.SetTraffic(10, "ops", " "));
        Assert.Throws<ArgumentException>(() => _policy.Checkpoint("c", false, "ops", ""));
        var tooMuch = Assert.Throws<ArgumentException>(() => _policy.SetTraffic(150, "ops", "x"));
        Assert.Equal("traffic 150: a percentage, 0..100", tooMuch.Message);
        Assert.Equal(audited, _policy.State.NewAudit.Count);
        Assert.Empty(_policy.State.Checkpoints);
    }

    [Fact]
    public void Status_reports_counts_error_rates_by_cause_percentiles_and_what_the_next_phase_needs()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.State.Config = _policy.State.Config with { RollbackOnValidationFailure = false };
        for (var i = 1; i <= 10; i++)
        {
            _policy.Record(Outcome($"h{i}", "heavydb", seconds: i, consistent: i != 10));
        }

        _policy.Record(Outcome("p1", "parquet", ok: false, consistent: null));
        _policy.Record(Outcome("p2", "parquet", ok: false, consistent: null, cause: FailureCause.Input));
        var status = _policy.Status([]);
        var heavy = status.Backends.Single(b => b.Backend == "heavydb");
        var parquet = status.Backends.Single(b => b.Backend == "parquet");

        Assert.Equal((10, 0, 5.0, 10.0), (heavy.Jobs, heavy.BackendErrors, heavy.P50Seconds, heavy.P95Seconds));
        Assert.Equal((2, 1, 1.0, 1), (parquet.Jobs, parquet.BackendErrors, parquet.ErrorRate, parquet.InputFailures));
        Assert.Equal((10, 9, 0.9), (status.DualWriteJobs, status.CleanDualWriteJobs, status.MatchRate));
        Assert.Equal("cut_over: 9 of 20 clean dual-write jobs", status.NextPhase);
    }

    private static (string Primary, string? Secondary, bool Validate) Short(Route r) => (r.Primary, r.Secondary, r.Validate);
}
