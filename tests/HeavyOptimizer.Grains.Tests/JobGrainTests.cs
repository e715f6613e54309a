using HeavyOptimizer.Grains.Jobs;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>Jobs end to end on the test cluster: real backends (Parquet, embedded HeavyDB), real optimisation, real run output.</summary>
[Collection(ClusterCollection.Name)]
public sealed class JobGrainTests(ClusterFixture fixture)
{
    private IMigrationControllerGrain Controller => fixture.Cluster.GrainFactory.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);

    private static string Input(string name, ulong seed)
    {
        var dir = Path.Combine(ClusterFixture.Root, "input");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, Some.Csv(Some.RandomMatrix(60, 20, seed)));
        return path;
    }

    private static JobSpec Spec(string input) => new() { InputPath = input, PortfolioSize = 10, Seed = 7, MaxEvaluations = 300 };

    /// <summary>
    /// Submits and waits until the job is finished and its outcome has reached the controller (a job is saved finished
    /// first and recorded just after, so that a retried attempt can never record it twice).
    /// </summary>
    private async Task<JobStatus> RunToEnd(string jobId, JobSpec spec)
    {
        var recorded = await Recorded();
        var job = fixture.Cluster.GrainFactory.GetGrain<IJobGrain>(jobId);
        await job.Submit(spec);
        // Generous: 200 jobs at once on a loaded 2-core CI machine took over 2 minutes once; this bounds a hang, not speed.
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        while (true)
        {
            var status = await job.GetStatus();
            if (status!.IsFinished && await Recorded() > recorded)
            {
                return status;
            }

            await Task.Delay(50, deadline.Token);
        }
    }

    private async Task<long> Recorded() => (await Controller.GetStatus(0)).JobsRecorded;

    private async Task Phase(MigrationPhase phase)
    {
        await Controller.EmergencyRollback("test", "reset between tests");
        await Controller.SetValidation(true, false, "test", "reset between tests");
        if (phase != MigrationPhase.HeavyDbOnly)
        {
            await Controller.SetPhase(phase, true, "test", "set up the test's phase");
        }
    }

    [Fact]
    public async Task A_job_runs_to_completion_once_and_resubmitting_it_changes_nothing()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var status = await RunToEnd("job-simple", Spec(Input("simple.csv", 1)));

        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal("heavydb", status.Result!.Backend);
        Assert.Null(status.Consistency);
        Assert.True(File.Exists(Path.Combine(status.Result.RunDirectory, "manifest.json")));
        Assert.EndsWith("_job-simple", status.Result.RunDirectory, StringComparison.Ordinal);

        var again = await fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-simple").Submit(status.Spec);
        Assert.Equal((status.SubmittedAt, status.State, status.Result.RunDirectory, status.Spec), (again.SubmittedAt, again.State, again.Result!.RunDirectory, again.Spec));
        Assert.Equal(1, again.Attempts);

        Assert.Contains(await IJobIndexGrain.ListDay(fixture.Cluster.GrainFactory, DateOnly.FromDateTime(status.SubmittedAt.UtcDateTime), JobState.Completed),
            s => s.JobId == "job-simple");
    }

    [Fact]
    public async Task Dual_write_runs_both_backends_and_stores_a_passing_consistency_report()
    {
        await Phase(MigrationPhase.DualWrite);
        var status = await RunToEnd("job-dual", Spec(Input("dual.csv", 3)));

        Assert.Equal(JobState.Completed, status.State);
        var report = status.Consistency!;
        Assert.Equal(("heavydb", "parquet", true), (report.Primary, report.Secondary, report.Passed));
        Assert.True(report.FingerprintsMatch && report.SamePortfolio);
        Assert.True(report.MaxMetricDifference <= 1e-9, $"{report.MaxMetricDifference}");
        var stats = await Controller.GetStatus(3);
        Assert.True(stats.CleanDualWriteJobs >= 1);
        Assert.Equal(MigrationPhase.DualWrite, stats.Config.Phase);
    }

    [Fact]
    public async Task An_uploaded_input_runs_like_a_shared_path_and_a_bad_upload_is_refused_by_name()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var content = File.ReadAllBytes(Input("upload.csv", 6));
        var key = IUploadGrain.KeyOf(content);
        await fixture.Cluster.GrainFactory.GetGrain<IUploadGrain>(key).Store(content);

        var status = await RunToEnd("job-upload", Spec(IUploadGrain.Scheme + key));

        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(key, status.Result!.Fingerprint);
        var wrongKey = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Cluster.GrainFactory.GetGrain<IUploadGrain>(new string('0', 64)).Store(content));
        Assert.Contains("hash to " + key, wrongKey.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<InvalidJobException>(() => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-upload-missing").Submit(Spec(IUploadGrain.Scheme + new string('1', 64))));
        Assert.Contains("no such upload", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_job_reports_its_search_progress_and_a_finished_one_does_not()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var job = fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-progress");
        var spec = Spec(Input("progress.csv", 9)) with { MaxEvaluations = null, TimeLimitSeconds = 2, Algorithms = "sa" };
        await job.Submit(spec);

        JobProgress? seen = null;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (seen is null)
        {
            seen = (await job.GetStatus())!.Progress;
            await Task.Delay(20, deadline.Token);
        }

        Assert.Equal(("SA", 10), (seen.Algorithm, seen.Size));
        Assert.True(seen.Evaluations > 0 && seen.Fraction is > 0 and <= 1, $"{seen}");
        var finished = await RunToEnd("job-progress", spec);
        Assert.Equal(JobState.Completed, finished.State);
        Assert.Null(finished.Progress);
    }

    [Fact]
    public async Task A_time_limited_dual_write_job_reports_the_search_as_not_compared()
    {
        await Phase(MigrationPhase.DualWrite);
        var status = await RunToEnd("job-dual-timed", Spec(Input("timed.csv", 5)) with { MaxEvaluations = null, TimeLimitSeconds = 0.5 });

        var report = status.Consistency!;
        Assert.Equal((true, false, true), (report.Passed, report.SearchCompared, report.FingerprintsMatch));
        Assert.Equal(["data_path passed", "metrics passed", "search not compared", "portfolio not compared"],
            report.Comparisons.Select(c => $"{c.Name} {ConsistencyReport.VerdictName(c.Verdict)}"));
        Assert.Contains("search: not compared", report.Summary, StringComparison.Ordinal);
        Assert.Empty(report.Problems);
        Assert.Equal(MigrationPhase.DualWrite, (await Controller.GetStatus(1)).Config.Phase);
    }

    [Fact]
    public async Task A_perturbed_data_path_fails_validation_and_rolls_back_to_heavydb_only()
    {
        await Phase(MigrationPhase.DualWrite);
        var status = await RunToEnd("job-perturbed", Spec(Input("perturbed.csv", 4)));

        Assert.Equal(JobState.Completed, status.State);
        Assert.False(status.Consistency!.Passed);
        Assert.Equal(Verdict.Failed, status.Consistency.Comparisons.Single(c => c.Name == "metrics").Verdict);
        Assert.Contains(status.Consistency.Problems, p => p.Contains("parquet's own metrics differ from the engine's", StringComparison.Ordinal));
        var config = await Controller.GetStatus(1);
        Assert.Equal(MigrationPhase.HeavyDbOnly, config.Config.Phase);
        Assert.Equal(("controller", "automatic rollback"), (config.RecentAudit[^1].Who, config.RecentAudit[^1].Action));
        Assert.Contains("job-perturbed", config.RecentAudit[^1].Why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backfill_finds_an_injected_data_path_difference_in_shadow_before_any_live_parquet_job()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        await Controller.SetValidation(true, true, "test", "strict: bit for bit");
        var original = await RunToEnd("job-backfill-original", Spec(Input("one-ulp-backfill.csv", 12)));
        Assert.Equal(("heavydb", (ConsistencyReport?)null), (original.Result!.Backend, original.Consistency));
        var before = await Controller.GetStatus(0);

        var shadow = fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-backfill-shadow");
        await shadow.Submit(original.Spec with { ShadowOf = original.JobId, BackendOverride = "parquet" });
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        MigrationStatus after;
        while (!(after = await Controller.GetStatus(0)).Backfill!.Verdicts.ContainsKey(original.JobId))
        {
            await Task.Delay(50, deadline.Token);
        }

        var run = (await shadow.GetStatus())!;
        Assert.Equal((JobState.Completed, false), (run.State, run.Consistency!.Passed));
        Assert.Equal(("heavydb", "parquet"), (run.Route!.Primary, run.Route.Secondary));
        Assert.Equal(Verdict.Failed, run.Consistency.Comparisons.Single(c => c.Name == "data_path").Verdict);
        Assert.Equal(BackfillSummary.Mismatch, after.Backfill.Verdicts[original.JobId]);
        // Evidence apart from live jobs: no outcome recorded, no rollback, the original untouched.
        Assert.Equal((before.JobsRecorded, MigrationPhase.HeavyDbOnly, before.DualWriteJobs), (after.JobsRecorded, after.Config.Phase, after.DualWriteJobs));
        var kept = (await fixture.Cluster.GrainFactory.GetGrain<IJobGrain>(original.JobId).GetStatus())!;
        Assert.Equal((original.Result.RunDirectory, original.FinishedAt, (ConsistencyReport?)null), (kept.Result!.RunDirectory, kept.FinishedAt, kept.Consistency));
        Assert.NotEqual(original.Result.RunDirectory, run.Result!.RunDirectory);
        await Controller.SetValidation(true, false, "test", "reset");
    }

    [SkippableTheory]
    [InlineData("sensex_2500.csv")]
    [InlineData("wide_25544x5_a.csv")]
    [InlineData("wide_25544x5_b.csv")]
    public async Task Strict_validation_passes_on_the_real_files_through_both_backends(string file)
    {
        var input = Path.Combine(ClusterFixture.Root, "input", $"strict-{file}");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.Copy(SharedData.File(file), input, overwrite: true);
        await Phase(MigrationPhase.DualWrite);
        await Controller.SetValidation(true, true, "test", "strict");

        var status = await RunToEnd($"job-strict-{file.Replace('.', '-')}", Spec(input) with { MaxEvaluations = 200 });

        var report = status.Consistency!;
        Assert.True(report.Passed, string.Join("; ", report.Problems));
        Assert.True(report.Strict);
        Assert.All(report.Comparisons, c => Assert.Equal(Verdict.Passed, c.Verdict));
        Assert.Equal(MigrationPhase.DualWrite, (await Controller.GetConfig()).Phase);
    }

    [Fact]
    public async Task Strict_validation_catches_one_ulp_in_one_cell_that_the_tolerant_check_lets_through()
    {
        await Phase(MigrationPhase.DualWrite);
        await Controller.SetValidation(true, false, "test", "tolerant");
        var tolerant = await RunToEnd("job-ulp-tolerant", Spec(Input("one-ulp.csv", 31)));
        Assert.True(tolerant.Consistency!.Passed, string.Join("; ", tolerant.Consistency.Problems));

        await Controller.SetValidation(true, true, "test", "strict");
        var strict = await RunToEnd("job-ulp-strict", Spec(Input("one-ulp.csv", 31)));

        var dataPath = strict.Consistency!.Comparisons.Single(c => c.Name == "data_path");
        Assert.Equal(Verdict.Failed, dataPath.Verdict);
        Assert.Contains("the matrices read back differ at strategy", dataPath.Detail, StringComparison.Ordinal);
        Assert.False(strict.Consistency.Passed);
    }

    [Fact]
    public async Task A_failing_secondary_never_fails_the_job()
    {
        await Phase(MigrationPhase.DualWrite);
        var status = await RunToEnd("job-secondary-fails", Spec(Input("parquet-breaks.csv", 5)));

        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal("heavydb", status.Result!.Backend);
        Assert.Null(status.Consistency!.Passed);
        Assert.Contains("injected failure", status.Consistency.SecondaryError, StringComparison.Ordinal);
        Assert.Equal("not compared (secondary: not compared)", status.Consistency.Summary);
    }

    [Fact]
    public async Task A_failing_primary_fails_the_job_as_the_backends_fault()
    {
        await Phase(MigrationPhase.ParquetOnly);
        var status = await RunToEnd("job-primary-fails", Spec(Input("parquet-breaks-too.csv", 6)));

        Assert.Equal((JobState.Failed, FailureCause.Backend), (status.State, status.Cause));
        Assert.Contains("injected failure", status.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fifty_bad_files_in_cut_over_roll_nothing_back_and_count_against_no_backend()
    {
        await Phase(MigrationPhase.CutOver);
        await Controller.SetTraffic(50, "test", "half and half");
        var path = Path.Combine(ClusterFixture.Root, "input", "bad-cell.csv");
        File.WriteAllText(path, "Date,s1,s2,s3,s4,s5,s6,s7,s8,s9,s10,s11\n2024-01-01,1,2,3,4,5,6,7,8,9,10,11\n2024-01-02,1,x,3,4,5,6,7,8,9,10,11\n");

        var failed = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => RunToEnd($"bad-file-{i:D2}", Spec(path))));

        Assert.All(failed, s => Assert.Equal((JobState.Failed, FailureCause.Input), (s.State, s.Cause)));
        Assert.Contains("row 3, column 's2'", failed[0].Error, StringComparison.Ordinal);
        var status = await Controller.GetStatus(3);
        Assert.Equal((MigrationPhase.CutOver, 50), (status.Config.Phase, status.Config.TrafficPercentParquet));
        Assert.Equal(2, status.Backends.Count);
        Assert.All(status.Backends, b => Assert.Equal((0, 0.0), (b.BackendErrors, b.ErrorRate)));
        Assert.Equal(50, status.Backends.Sum(b => b.InputFailures));
    }

    [Theory]
    [InlineData("../../../../x")]
    [InlineData("semi;colon")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("has space")]
    [InlineData("a/b")]
    public async Task Job_ids_that_could_name_a_path_are_refused_at_submit(string id)
    {
        var refused = await Assert.ThrowsAsync<InvalidJobException>(() => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>(id).Submit(Spec(Input("ids.csv", 1))));
        Assert.Equal("job_id", refused.Field);
        Assert.Contains("1..128 of A-Z a-z 0-9 . _ -", refused.Message, StringComparison.Ordinal);
        var tooLong = await Assert.ThrowsAsync<InvalidJobException>(() => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>(new string('j', 500)).Submit(Spec(Input("ids.csv", 1))));
        Assert.Contains("(500 characters)", tooLong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inputs_are_read_only_inside_the_input_roots_and_checked_before_the_job_is_accepted()
    {
        Directory.CreateDirectory(Path.Combine(ClusterFixture.Root, "input"));
        var outside = Path.Combine(ClusterFixture.Root, "outside.csv");
        File.WriteAllText(outside, Some.Csv(Some.RandomMatrix(30, 12, 2)));
        var link = Path.Combine(ClusterFixture.Root, "input", "sneaky.csv");
        File.Delete(link);
        File.CreateSymbolicLink(link, "/etc/passwd");
        var fifo = Path.Combine(ClusterFixture.Root, "input", "pipe.csv");
        File.Delete(fifo);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            mkfifo.WaitForExit();
        }

        var grains = fixture.Cluster.GrainFactory;

        foreach (var (input, expected) in new[]
                 {
                     (outside, "outside the cluster's input roots"), (link, "outside the cluster's input roots"), ("/etc/shadow", "outside the cluster's input roots"),
                     (Path.Combine(ClusterFixture.Root, "input", "..", "outside.csv"), "outside the cluster's input roots"),
                     ("relative.csv", "give an absolute path"), (Path.Combine(ClusterFixture.Root, "input", "missing.csv"), "no such file"),
                     (fifo, "is not a regular file"), (Path.Combine(ClusterFixture.Root, "input"), "is a directory"),
                     (IUploadGrain.Scheme + new string('a', 64), "no such upload"), (IUploadGrain.Scheme + "nothex", "64 lower-case hex"),
                 })
        {
            var refused = await Assert.ThrowsAsync<InvalidJobException>(() => grains.GetGrain<IJobGrain>($"confined-{Guid.NewGuid():N}").Submit(Spec(input)));
            Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
            Assert.Equal("input", refused.Field);
        }

        Assert.True((await Assert.ThrowsAsync<InvalidJobException>(() => grains.GetGrain<IJobGrain>("confined-outside").Submit(Spec(outside)))).OutsideInputRoots);
        Assert.Null(await grains.GetGrain<IJobGrain>("confined-outside").GetStatus());
    }

    [Theory]
    [InlineData(9, null, "portfolio size 9: a job takes 10..100")]
    [InlineData(101, null, "portfolio size 101")]
    [InlineData(20, 10, "portfolio sizes 20..10")]
    public async Task Sizes_outside_the_one_rule_are_refused_at_submit(int size, int? max, string expected)
    {
        var refused = await Assert.ThrowsAsync<InvalidJobException>(() =>
            fixture.Cluster.GrainFactory.GetGrain<IJobGrain>($"size-{size}-{max}").Submit(Spec(Input("sizes.csv", 1)) with { PortfolioSize = size, MaxPortfolioSize = max }));
        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_id_with_a_different_request_is_a_conflict_and_the_same_request_is_idempotent()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var spec = Spec(Input("conflict.csv", 3)) with { Algorithms = "SA,ga", Parameters = "sa.cooling_rate=0.9" };
        var first = await RunToEnd("job-conflict", spec);

        var same = await fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-conflict").Submit(spec with { Algorithms = "ga, sa" });
        Assert.Equal((first.SubmittedAt, 1), (same.SubmittedAt, same.Attempts));
        Assert.Equal(("ga,sa", "sa.cooling_rate=0.9"), (same.Spec.Algorithms, same.Spec.Parameters));
        var conflict = await Assert.ThrowsAsync<InvalidJobException>(() => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-conflict").Submit(spec with { Seed = 8 }));
        Assert.Contains("job job-conflict already exists with a different request", conflict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_asks_for_everything_a_standalone_run_can()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var spec = Spec(Input("everything.csv", 12)) with
        {
            PortfolioSize = 10, MaxPortfolioSize = 12, Algorithms = "ga,hc", Metric = "less max dd", PenaltyWeight = 2.5, Ulta = true, Parameters = "ga.population=12",
        };
        var status = await RunToEnd("job-everything", spec);

        Assert.Equal(JobState.Completed, status.State);
        var result = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(status.Result!.RunDirectory, "result.json")))!.ToJsonString();
        foreach (var expected in new[] { "less max dd", "\"penalty_weight\":2.5", "\"ulta\":true", "\"population\":12" })
        {
            Assert.Contains(expected, result, StringComparison.Ordinal);
        }

        Assert.InRange(status.Result.BestSize, 10, 12);
        await Assert.ThrowsAsync<InvalidJobException>(() => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-bad-param").Submit(spec with { Parameters = "ga.populaton=12" }));
        await Assert.ThrowsAsync<InvalidJobException>(() => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-bad-metric").Submit(spec with { Metric = "sharpest" }));
    }

    [Fact]
    public async Task With_gpu_enabled_false_parquet_metrics_come_from_the_cpu_only_backend_grain()
    {
        await Phase(MigrationPhase.DualWrite);
        await Controller.ImportIni("[SYSTEM]\ngpu_enabled = false\n[MIGRATION]\n", false, false, "test", "no gpu");
        try
        {
            var status = await RunToEnd("job-no-gpu", Spec(Input("nogpu.csv", 21)));

            Assert.False(status.Route!.Gpu);
            var type = fixture.Cluster.GrainFactory.GetGrain<IBackendGrain>("parquet").GetGrainId().Type;
            var active = await fixture.Cluster.GrainFactory.GetGrain<IManagementGrain>(0).GetActiveGrains(type);
            Assert.Contains(active, g => g.Key.ToString() == IBackendGrain.KeyFor("parquet", status.Result!.Fingerprint, gpu: false));
            Assert.DoesNotContain(active, g => g.Key.ToString() == IBackendGrain.KeyFor("parquet", status.Result!.Fingerprint, gpu: true));
        }
        finally
        {
            await Controller.ImportIni("[SYSTEM]\ngpu_enabled = true\n[MIGRATION]\n", false, false, "test", "gpu back");
        }
    }

    [Fact]
    public async Task A_replay_is_noted_on_the_job_it_replays()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var original = await RunToEnd("job-original", Spec(Input("original.csv", 14)));
        await RunToEnd("job-original-replay-1", original.Spec with { ReplayOf = "job-original" });

        var noted = await fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-original").GetStatus();
        Assert.Equal(["job-original-replay-1"], noted!.Replays);
        await Assert.ThrowsAsync<InvalidJobException>(() => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-self").Submit(original.Spec with { ReplayOf = "job-self" }));
    }

    [Fact]
    public async Task Two_hundred_concurrent_submissions_all_complete_once()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var input = Input("many.csv", 8);
        var ids = Enumerable.Range(0, 200).Select(i => $"burst-{i:D3}").ToArray();
        var spec = Spec(input) with { MaxEvaluations = 40, Algorithms = "ga,sa" };

        await Task.WhenAll(ids.Select(id => fixture.Cluster.GrainFactory.GetGrain<IJobGrain>(id).Submit(spec)));
        var finished = await Task.WhenAll(ids.Select(id => RunToEnd(id, spec)));

        Assert.All(finished, s => Assert.Equal((JobState.Completed, 1), (s.State, s.Attempts)));
        var days = finished.Select(s => DateOnly.FromDateTime(s.SubmittedAt.UtcDateTime)).Distinct();
        var listed = await Task.WhenAll(days.Select(d => IJobIndexGrain.ListDay(fixture.Cluster.GrainFactory, d, JobState.Completed)));
        Assert.Equal(200, listed.SelectMany(l => l).Count(s => s.JobId.StartsWith("burst-", StringComparison.Ordinal)));
    }
}
