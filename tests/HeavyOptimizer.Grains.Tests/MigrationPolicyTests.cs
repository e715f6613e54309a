using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Migration;

namespace HeavyOptimizer.Grains.Tests;

public class MigrationPolicyTests
{
    private readonly MigrationPolicy _policy = new(new MigrationControllerState(), new MigrationPolicyOptions(), TimeProvider.System);

    private static JobOutcome Outcome(string id, string backend = "heavydb", bool ok = true, double seconds = 0.5, bool? consistent = true, double? variance = 0) =>
        new(id, backend, ok, seconds, consistent, variance, DateTimeOffset.UtcNow);

    private int _jobs;

    /// <summary>Records <paramref name="count"/> clean dual-write outcomes of distinct jobs.</summary>
    private void CleanDualWriteJobs(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.Null(_policy.Record(Outcome($"clean-{_jobs++}")));
        }
    }

    [Fact]
    public void Routing_at_25_percent_sends_22_to_28_percent_of_4000_jobs_to_parquet_and_is_stable_per_id()
    {
        _policy.SetPhase(MigrationPhase.CutOver, force: true, "test", "routing");
        _policy.SetTraffic(25, "test", "routing");
        var ids = Enumerable.Range(0, 4000).Select(i => $"job-{i:D5}").ToArray();
        var routes = ids.Select(_policy.RouteFor).ToArray();
        var share = routes.Count(r => r.Primary == "parquet") / 4000.0;

        Assert.InRange(share, 0.22, 0.28);
        Assert.Equal(routes, ids.Select(_policy.RouteFor));
        Assert.All(routes, r => Assert.Equal(_policy.State.Config.Version, r.ConfigVersion));
    }

    [Fact]
    public void Each_phase_routes_as_the_runbook_describes()
    {
        Assert.Equal(new Route("heavydb", null, 0, false), _policy.RouteFor("a"));

        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "start dual-write");
        Assert.Equal(("heavydb", "parquet", true), (_policy.RouteFor("a").Primary, _policy.RouteFor("a").Secondary, _policy.RouteFor("a").Validate));

        _policy.SetPhase(MigrationPhase.CutOver, force: true, "ops", "test");
        _policy.SetTraffic(100, "ops", "all in");
        Assert.Equal(("parquet", "heavydb"), (_policy.RouteFor("a").Primary, _policy.RouteFor("a").Secondary));

        _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "done");
        Assert.Equal(new Route("parquet", null, _policy.State.Config.Version, false), _policy.RouteFor("a"));
    }

    [Fact]
    public void A_disabled_backend_gets_no_jobs()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.SetBackendDisabled("parquet", true, "ops", "parquet host down");
        Assert.Equal(new Route("heavydb", null, _policy.State.Config.Version, false), _policy.RouteFor("x"));

        _policy.SetBackendDisabled("parquet", false, "ops", "back");
        _policy.SetBackendDisabled("heavydb", true, "ops", "heavydb maintenance");
        Assert.Equal("parquet", _policy.RouteFor("x").Primary);
    }

    [Fact]
    public void Cut_over_needs_twenty_clean_dual_write_jobs_unless_forced()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        CleanDualWriteJobs(19);
        var refused = Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.CutOver, false, "ops", "go"));
        Assert.Contains("at least 20 clean dual-write jobs", refused.Message, StringComparison.Ordinal);
        Assert.Equal(MigrationPhase.DualWrite, _policy.State.Config.Phase);

        CleanDualWriteJobs(1);
        _policy.SetPhase(MigrationPhase.CutOver, false, "ops", "go");
        Assert.Equal(MigrationPhase.CutOver, _policy.State.Config.Phase);
    }

    [Fact]
    public void Forcing_a_guarded_change_is_audited_as_forced()
    {
        var entry = _policy.SetPhase(MigrationPhase.CutOver, force: true, "alice", "vendor deadline");
        Assert.Equal("phase cut_over (forced)", entry.Action);
        Assert.Equal(("alice", "vendor deadline"), (entry.Who, entry.Why));
        Assert.Equal(MigrationPhase.HeavyDbOnly, entry.Before.Phase);
        Assert.Equal(MigrationPhase.CutOver, entry.After.Phase);
    }

    [Fact]
    public void Parquet_only_needs_full_traffic_and_no_mismatch_in_the_window()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        _policy.SetTraffic(90, "ops", "most");
        Assert.Contains("traffic at 100", Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "x")).Message, StringComparison.Ordinal);

        _policy.SetTraffic(100, "ops", "all");
        _policy.State.Config = _policy.State.Config with { RollbackOnValidationFailure = false };
        _policy.Record(Outcome("bad", "parquet", consistent: false));
        Assert.Contains("no consistency mismatch", Assert.Throws<MigrationGuardException>(() => _policy.SetPhase(MigrationPhase.ParquetOnly, false, "ops", "x")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Emergency_rollback_resets_phase_dual_write_and_traffic_in_one_audited_step()
    {
        _policy.SetPhase(MigrationPhase.CutOver, true, "ops", "cut");
        _policy.SetDualWrite(true, "ops", "mirror");
        _policy.SetTraffic(50, "ops", "half");
        var before = _policy.State.Audit.Count;

        var entry = _policy.EmergencyRollback("oncall", "P1: parquet results wrong");

        Assert.Equal(before + 1, _policy.State.Audit.Count);
        Assert.Equal((MigrationPhase.HeavyDbOnly, false, 0), (entry.After.Phase, entry.After.DualWrite, entry.After.TrafficPercentParquet));
        Assert.Equal("emergency rollback", entry.Action);
    }

    [Fact]
    public void A_failed_consistency_check_rolls_back_when_the_policy_says_so()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        var rollback = _policy.Record(Outcome("j1", consistent: false));

        Assert.NotNull(rollback);
        Assert.Equal(("controller", "automatic rollback"), (rollback.Who, rollback.Action));
        Assert.Contains("consistency check failed for job j1", rollback.Why, StringComparison.Ordinal);
        Assert.Equal(MigrationPhase.HeavyDbOnly, _policy.State.Config.Phase);
    }

    [Fact]
    public void Without_rollback_on_validation_failure_a_mismatch_only_counts()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.State.Config = _policy.State.Config with { RollbackOnValidationFailure = false };
        Assert.Null(_policy.Record(Outcome("j1", consistent: false)));
        Assert.Equal(0.0, _policy.Status().MatchRate);
    }

    [Fact]
    public void A_job_that_records_twice_counts_once()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.Record(Outcome("rerun"));
        Assert.Null(_policy.Record(Outcome("rerun", consistent: false)));

        var status = _policy.Status();
        Assert.Equal((1L, 1, 1.0), (status.JobsRecorded, status.Backends.Sum(b => b.Jobs), status.MatchRate));
    }

    [Theory]
    [InlineData("variance")]
    [InlineData("runtime")]
    [InlineData("errors")]
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
                _ => _policy.Record(Outcome($"e{i}", "parquet", ok: i % 10 != 0, consistent: null)),
            };
        }

        Assert.NotNull(rollback);
        Assert.Equal(MigrationPhase.HeavyDbOnly, _policy.State.Config.Phase);
        Assert.Contains(trigger switch { "variance" => "differ by", "runtime" => "runtime p95", _ => "error rate" }, rollback.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Checkpoints_and_last_known_good_restore_settings_as_a_new_version()
    {
        _policy.SetPhase(MigrationPhase.DualWrite, false, "ops", "dual");
        _policy.Checkpoint("1.1", "ops", "infrastructure ready");
        Assert.Contains("no last-known-good", Assert.Throws<MigrationGuardException>(() => _policy.RollbackTo("last-known-good", "ops", "x")).Message, StringComparison.Ordinal);
        CleanDualWriteJobs(20);
        var good = _policy.State.Config;
        _policy.SetPhase(MigrationPhase.CutOver, false, "ops", "cut");
        _policy.SetTraffic(40, "ops", "more");

        var restored = _policy.RollbackTo("last-known-good", "ops", "cut-over misbehaves");
        Assert.Equal(good with { Version = restored.After.Version }, restored.After);
        Assert.True(restored.After.Version > good.Version);

        _policy.RollbackTo("1.1", "ops", "back to checkpoint");
        Assert.Equal(MigrationPhase.DualWrite, _policy.State.Config.Phase);
        Assert.Throws<MigrationGuardException>(() => _policy.RollbackTo("9.9", "ops", "x"));
    }

    [Fact]
    public void Every_change_needs_a_reason_and_leaves_nothing_when_refused()
    {
        Assert.Throws<ArgumentException>(() => _policy.SetTraffic(10, "ops", " "));
        Assert.Throws<ArgumentException>(() => _policy.Checkpoint("c", "ops", ""));
        Assert.Throws<ArgumentOutOfRangeException>(() => _policy.SetTraffic(101, "ops", "x"));
        Assert.Empty(_policy.State.Audit);
        Assert.Empty(_policy.State.Checkpoints);
        Assert.Equal(0, _policy.State.Config.Version);
    }

    [Fact]
    public void Status_reports_counts_error_rates_percentiles_and_match_rate()
    {
        _policy.State.Config = _policy.State.Config with { RollbackOnValidationFailure = false };
        for (var i = 1; i <= 10; i++)
        {
            _policy.Record(Outcome($"h{i}", "heavydb", seconds: i, consistent: i != 10));
        }

        _policy.Record(Outcome("p1", "parquet", ok: false, consistent: null));
        var status = _policy.Status();
        var heavy = status.Backends.Single(b => b.Backend == "heavydb");

        Assert.Equal((10, 0, 5.0, 10.0), (heavy.Jobs, heavy.Errors, heavy.P50Seconds, heavy.P95Seconds));
        Assert.Equal(1.0, status.Backends.Single(b => b.Backend == "parquet").ErrorRate);
        Assert.Equal((10, 9, 0.9), (status.DualWriteJobs, status.CleanDualWriteJobs, status.MatchRate));
    }

    [Fact]
    public void Imported_settings_are_guarded_audited_and_versioned()
    {
        var wanted = new MigrationConfig { Phase = MigrationPhase.CutOver, TrafficPercentParquet = 30, Version = 99 };
        Assert.Throws<MigrationGuardException>(() => _policy.Import(wanted, false, "ops", "ini"));

        var entry = _policy.Import(wanted, true, "ops", "ini from the share");
        Assert.Equal("import settings (forced)", entry.Action);
        Assert.Equal((MigrationPhase.CutOver, 30, 1), (_policy.State.Config.Phase, _policy.State.Config.TrafficPercentParquet, _policy.State.Config.Version));
    }
}
