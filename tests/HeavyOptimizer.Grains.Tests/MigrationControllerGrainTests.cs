using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>The controller as a grain: calls cross the Orleans serializer and state goes through the storage provider.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MigrationControllerGrainTests(ClusterFixture fixture)
{
    private IMigrationControllerGrain Controller(string key) => fixture.Cluster.GrainFactory.GetGrain<IMigrationControllerGrain>(key);

    [Fact]
    public async Task Changes_apply_live_are_audited_and_route_jobs()
    {
        var controller = Controller("controller-test-1");
        await controller.SetPhase(MigrationPhase.DualWrite, false, "alice", "start mirroring");
        var beforeCut = await controller.RouteFor("job-1");
        await controller.SetPhase(MigrationPhase.CutOver, true, "alice", "forced for the test");
        await controller.SetTraffic(100, "alice", "everything to parquet");

        var route = await controller.RouteFor("job-1");
        var audit = await controller.GetAudit();

        Assert.Equal(("heavydb", "parquet"), (beforeCut.Primary, beforeCut.Secondary));
        Assert.Equal("parquet", route.Primary);
        Assert.Equal(["phase dual_write", "phase cut_over (forced)", "traffic 100"], audit.Select(a => a.Action));
        Assert.Equal(3, (await controller.GetConfig()).Version);
    }

    [Fact]
    public async Task Refusals_reach_the_caller_with_their_reason_as_their_own_type_and_change_nothing()
    {
        var controller = Controller("controller-test-2");
        var guard = await Assert.ThrowsAsync<MigrationGuardException>(() => controller.SetPhase(MigrationPhase.CutOver, false, "bob", "too early"));
        Assert.Contains("skips dual_write", guard.Message, StringComparison.Ordinal);
        var ini = await Assert.ThrowsAsync<FormatException>(() => controller.ImportIni("[SYSTEM]\nmigration_phase = nowhere\n[MIGRATION]\n", false, false, "bob", "typo"));
        Assert.Contains("line 2", ini.Message, StringComparison.Ordinal);
        Assert.Empty(await controller.GetAudit());
    }

    [Fact]
    public async Task A_failed_consistency_check_rolls_the_cluster_back_with_an_audit_entry_and_a_fresh_window()
    {
        var controller = Controller("controller-test-3");
        await controller.SetPhase(MigrationPhase.DualWrite, false, "ops", "mirror");
        var rollback = await controller.Record(new JobOutcome("job-9", "heavydb", true, 0.2, false, 0.03, DateTimeOffset.UtcNow));

        Assert.NotNull(rollback);
        var status = await controller.GetStatus(5);
        Assert.Equal(MigrationPhase.HeavyDbOnly, status.Config.Phase);
        Assert.Equal("automatic rollback", status.RecentAudit[^1].Action);
        Assert.Null(status.MatchRate);
        Assert.Equal(1, status.JobsRecorded);
    }
}
