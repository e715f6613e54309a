using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Silo;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>
/// Two silos sharing the cluster store, grain state and reminders in SQLite (the real ADO.NET providers and the
/// project's schema): the silo running a job is killed mid-job; nobody asks after the job (only its day's index is
/// watched), yet its lease lapses and the other silo's job slots take it, complete it and record it exactly once.
/// </summary>
public sealed class SiloLossTests() : OwnCluster<SiloLossTests.Silo>(2, Root)
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"hopt-siloloss-{Environment.ProcessId}");
    private static readonly string State = $"Data Source={Path.Combine(Root, "state.db")}";

    protected override async Task PrepareAsync()
    {
        DatabaseSchema.RegisterProviders();
        await DatabaseSchema.ApplyAsync("sqlite", State);
    }

    [Fact]
    public async Task A_job_whose_silo_dies_completes_on_another_exactly_once()
    {
        var input = Path.Combine(Root, "long.csv");
        File.WriteAllText(input, Some.Csv(Some.RandomMatrix(200, 40, 21)));
        var job = Cluster.Client.GetGrain<IJobGrain>("survivor");
        await job.Submit(new JobSpec { InputPath = input, PortfolioSize = 10, Seed = 3, TimeLimitSeconds = 10, Algorithms = "sa" });

        // Killed early in its search (progress is reported every second; the search has 5 s, the polish 5 more), so
        // that even a slow stop (seconds on a loaded machine) lands long before the run could end: a silo killed in
        // this process is not dead, and one whose run had already finished would rightly record the job it completed.
        // (A stopped polish passing for a finished one is the Core tests' concern; a stopped search would fail here.)
        var running = await Until(() => job.GetStatus(), s => s is { State: JobState.Running, Progress: not null });
        var doomed = Cluster.Silos.Single(s => s.SiloAddress.ToString() == running!.Silo);
        var killing = DateTimeOffset.UtcNow;
        await Cluster.KillSiloAsync(doomed);
        var killed = DateTimeOffset.UtcNow;

        var day = DateOnly.FromDateTime(running!.SubmittedAt.UtcDateTime);
        var completed = await Until(() => IJobIndexGrain.ListDay(Cluster.Client, day, JobState.Completed), list => list.Any(s => s.JobId == "survivor"));

        Assert.Single(completed, s => s.JobId == "survivor");
        var finished = (await job.GetStatus())!;
        Assert.Equal(JobState.Completed, finished.State);
        Assert.True(finished.Attempts >= 2, $"attempts {finished.Attempts}, killed {running.Silo} from {killing:HH:mm:ss.fff} to {killed:HH:mm:ss.fff}, finished on {finished.Silo}: started {finished.StartedAt:HH:mm:ss.fff}, finished {finished.FinishedAt:HH:mm:ss.fff}, ran {finished.Result?.Seconds:F1} s");
        Assert.NotEqual(running.Silo, finished.Silo);
        var controller = Cluster.Client.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
        // The outcome reaches the controller just after the job is saved; once there, it stays recorded once.
        await Until(() => controller.GetStatus(0), s => s.JobsRecorded >= 1);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var stats = await controller.GetStatus(0);
        Assert.Equal((1L, 1), (stats.JobsRecorded, stats.Backends.Sum(b => b.Jobs)));
    }

    [Fact]
    public async Task Every_field_a_job_persists_reads_back_from_the_database_after_reactivation()
    {
        var input = Path.Combine(Root, "broken.csv");
        File.WriteAllText(input, "Date,a,b,c,d,e,f,g,h,i,j\n2024-01-01,1,2,3,4,5,6,7,8,9,x\n2024-01-02,1,2,3,4,5,6,7,8,9,10\n");
        var spec = new JobSpec { InputPath = input, PortfolioSize = 10, Algorithms = "ga,sa", Parameters = "ga.population=12", Metric = "roi" };
        var original = Cluster.Client.GetGrain<IJobGrain>("persisted");
        await original.Submit(spec);
        await Until(() => original.GetStatus(), s => s?.IsFinished == true);
        await Cluster.Client.GetGrain<IJobGrain>("persisted-replay").Submit(spec with { ReplayOf = "persisted" });
        await Until(() => original.GetStatus(), s => s?.Replays.Count == 1);

        // Deactivate everything: the next calls read the job back from its row in the cluster store.
        await Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var read = (await original.GetStatus())!;
        var listed = await IJobIndexGrain.ListDay(Cluster.Client, DateOnly.FromDateTime(read.SubmittedAt.UtcDateTime), JobState.Failed);

        Assert.Equal((JobState.Failed, FailureCause.Input, "persisted-replay"), (read.State, read.Cause, read.Replays.Single()));
        Assert.Equal(spec with { Algorithms = "ga,sa", Parameters = "ga.population=12" }, read.Spec);
        Assert.Contains(listed, s => s.JobId == "persisted" && s.Replays.Count == 1);
    }

    /// <summary>Polls <paramref name="read"/> (riding out the window in which the dead silo is not yet declared dead) until <paramref name="done"/>.</summary>
    private static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (true)
        {
            try
            {
                var value = await read();
                if (done(value))
                {
                    return value;
                }
            }
            catch (Exception e) when (e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                // The dead silo's activations are being replaced.
            }

            await Task.Delay(100, deadline.Token);
        }
    }

    public sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo
            .AddAdoNetGrainStorage("hopt", o => (o.Invariant, o.ConnectionString) = (DatabaseSchema.SqliteInvariant, State))
            .UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (DatabaseSchema.SqliteInvariant, State))
            .Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(5))
            .UseHeavyOptimizerStore(Microsoft.Data.Sqlite.SqliteFactory.Instance, State)
            .AddHeavyOptimizerGrains(slots: s => (s.Lease, s.Poll) = (TimeSpan.FromSeconds(6), TimeSpan.FromMilliseconds(200)), backends: o =>
            {
                o.DataDirectory = Path.Combine(Root, "data");
                o.OutputRoot = Path.Combine(Root, "output");
                o.HeavyDbUrl = "embedded";
                o.Compute = "cpu";
                o.Watchdog = TimeSpan.FromSeconds(5);
                o.InputRoots.Add(Root);
            });
    }
}
