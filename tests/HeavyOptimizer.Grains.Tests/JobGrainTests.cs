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
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
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

        var again = await fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-simple").Submit(Spec(Input("other.csv", 2)));
        Assert.Equal((status.SubmittedAt, status.State, status.Result.RunDirectory, status.Spec), (again.SubmittedAt, again.State, again.Result!.RunDirectory, again.Spec));
        Assert.Equal(1, again.Attempts);

        var registry = fixture.Cluster.GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.KeyFor(status.SubmittedAt));
        Assert.Contains(await registry.List(JobState.Completed), s => s.JobId == "job-simple");
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
        var missing = await RunToEnd("job-upload-missing", Spec(IUploadGrain.Scheme + new string('1', 64)));
        Assert.Equal(JobState.Failed, missing.State);
        Assert.Contains("no such upload", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_job_reports_its_search_progress_and_a_finished_one_does_not()
    {
        await Phase(MigrationPhase.HeavyDbOnly);
        var job = fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("job-progress");
        await job.Submit(Spec(Input("progress.csv", 9)) with { MaxEvaluations = null, TimeLimitSeconds = 2, Algorithms = "sa" });

        JobProgress? seen = null;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (seen is null)
        {
            seen = (await job.GetStatus())!.Progress;
            await Task.Delay(20, deadline.Token);
        }

        Assert.Equal(("SA", 10), (seen.Algorithm, seen.Size));
        Assert.True(seen.Evaluations > 0 && seen.Fraction is > 0 and <= 1, $"{seen}");
        var finished = await RunToEnd("job-progress", Spec(Input("progress.csv", 9)));
        Assert.Equal(JobState.Completed, finished.State);
        Assert.Null(finished.Progress);
    }

    [Fact]
    public async Task A_time_limited_dual_write_job_compares_the_data_path_but_not_the_search()
    {
        await Phase(MigrationPhase.DualWrite);
        var status = await RunToEnd("job-dual-timed", Spec(Input("timed.csv", 5)) with { MaxEvaluations = null, TimeLimitSeconds = 0.5 });

        var report = status.Consistency!;
        Assert.Equal((true, false, true), (report.Passed, report.SearchCompared, report.FingerprintsMatch));
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
        Assert.Contains(status.Consistency.Problems, p => p.Contains("metrics differ", StringComparison.Ordinal));
        var config = await Controller.GetStatus(1);
        Assert.Equal(MigrationPhase.HeavyDbOnly, config.Config.Phase);
        Assert.Equal(("controller", "automatic rollback"), (config.RecentAudit[^1].Who, config.RecentAudit[^1].Action));
        Assert.Contains("job-perturbed", config.RecentAudit[^1].Why, StringComparison.Ordinal);
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
    }

    [Fact]
    public async Task A_failing_primary_fails_the_job_with_its_reason()
    {
        await Phase(MigrationPhase.ParquetOnly);
        var status = await RunToEnd("job-primary-fails", Spec(Input("parquet-breaks-too.csv", 6)));

        Assert.Equal(JobState.Failed, status.State);
        Assert.Contains("injected failure", status.Error, StringComparison.Ordinal);
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
        var listed = await Task.WhenAll(days.Select(d => IJobRegistryGrain.ListDay(fixture.Cluster.GrainFactory, d, JobState.Completed)));
        Assert.Equal(200, listed.SelectMany(l => l).Count(s => s.JobId.StartsWith("burst-", StringComparison.Ordinal)));
    }
}
