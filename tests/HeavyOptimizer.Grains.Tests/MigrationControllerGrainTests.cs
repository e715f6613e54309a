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
        var audit = await controller.GetAudit(null, null, 100);

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
        Assert.Empty(await controller.GetAudit(null, null, 100));
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

    [Fact]
    public async Task Outcomes_are_one_insert_each_counted_once_and_rebuilt_from_the_store_after_reactivation()
    {
        const string key = "controller-test-4";
        var controller = Controller(key);
        var store = new Storage.ClusterStore(Microsoft.Data.Sqlite.SqliteFactory.Instance, ClusterFixture.Store);
        await controller.SetPhase(MigrationPhase.DualWrite, false, "ops", "mirror");
        var settingsVersion = (await store.GetControllerAsync(key))!.Value.Version;
        var route = await controller.RouteFor("any");
        for (var i = 0; i < 30; i++)
        {
            await controller.Record(new JobOutcome($"o-{i}", "heavydb", true, 0.1 + i / 100.0, true, 0, DateTimeOffset.UtcNow, null, route, 0.05));
        }

        // A rerun's second outcome (even a different one) is refused by the outcome table's key.
        await controller.Record(new JobOutcome("o-3", "heavydb", false, 9, false, 0.5, DateTimeOffset.UtcNow, FailureCause.Backend, route));
        var before = await controller.GetStatus(10);
        await fixture.Cluster.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var after = await controller.GetStatus(10);

        Assert.Equal(30, before.JobsRecorded);
        Assert.Equal(30, before.CleanDualWriteJobs);
        Assert.Equal(MigrationPhase.DualWrite, before.Config.Phase);
        // Thirty outcomes wrote no settings: only the last-known-good, reached at the twentieth, changed the row once.
        Assert.Equal(settingsVersion + 1, (await store.GetControllerAsync(key))!.Value.Version);
        Assert.Equal(30, await store.OutcomeCountAsync(key));
        Assert.Equal((before.JobsRecorded, before.CleanDualWriteJobs, before.DualWriteJobs, before.NextPhase), (after.JobsRecorded, after.CleanDualWriteJobs, after.DualWriteJobs, after.NextPhase));
        Assert.Equal(before.Backends.Single().P95Seconds, after.Backends.Single().P95Seconds);
        await controller.SetPhase(MigrationPhase.CutOver, false, "ops", "the guard holds after reactivation");
    }

    [Fact]
    public async Task The_audit_reads_in_pages_after_a_sequence_or_since_a_time()
    {
        var controller = Controller("controller-test-5");
        for (var i = 0; i < 7; i++)
        {
            await controller.Checkpoint($"c{i}", false, "ops", $"checkpoint {i}");
        }

        var latest = await controller.GetAudit(null, null, 3);
        var first = await controller.GetAudit(0, null, 3);
        var next = await controller.GetAudit(first[^1].Sequence, null, 3);
        var future = await controller.GetAudit(null, DateTimeOffset.UtcNow.AddMinutes(1), 100);

        Assert.Equal([5L, 6, 7], latest.Select(a => a.Sequence));
        Assert.Equal([1L, 2, 3], first.Select(a => a.Sequence));
        Assert.Equal([4L, 5, 6], next.Select(a => a.Sequence));
        Assert.Empty(future);
        var refused = await Assert.ThrowsAsync<MigrationGuardException>(() => controller.Checkpoint("c2", false, "ops", "again"));
        Assert.Contains("#3", refused.Message, StringComparison.Ordinal);
    }
}
