using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Grains.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>
/// Admission control on a real silo: with two job slots, ten jobs submitted at once run two at a time, the rest wait
/// Queued with their place in the queue, and a queued job cancelled never runs.
/// </summary>
public sealed class JobSlotTests() : OwnCluster<JobSlotTests.Silo>(1, Root)
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"hopt-slots-{Environment.ProcessId}");
    private static readonly string Store = TestStores.Sqlite(Root);

    [Fact]
    public async Task Ten_jobs_on_two_slots_run_two_at_a_time_and_a_cancelled_queued_job_never_runs()
    {
        var input = Path.Combine(Root, "slots.csv");
        File.WriteAllText(input, Some.Csv(Some.RandomMatrix(200, 40, 5)));
        var spec = new JobSpec { InputPath = input, PortfolioSize = 10, Seed = 1, TimeLimitSeconds = 1, Algorithms = "sa" };
        var jobs = Enumerable.Range(0, 10).Select(i => Cluster.Client.GetGrain<IJobGrain>($"slot-{i}")).ToList();
        await Task.WhenAll(jobs.Select(j => j.Submit(spec)));
        var doomed = Cluster.Client.GetGrain<IJobGrain>("slot-cancelled");
        await doomed.Submit(spec);
        var queued = (await doomed.GetStatus())!;
        var cancelled = (await doomed.Cancel())!;

        var placesSeen = new HashSet<int>();
        var mostRunning = 0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (true)
        {
            var states = await Task.WhenAll(jobs.Select(j => j.GetStatus()));
            placesSeen.UnionWith(states.Where(s => s!.QueuePosition is not null).Select(s => s!.QueuePosition!.Value));
            if (states.All(s => s!.IsFinished))
            {
                Assert.All(states, s => Assert.Equal((JobState.Completed, 1), (s!.State, s.Attempts)));
                mostRunning = MostOverlapping(states.Select(s => (s!.StartedAt!.Value, s.FinishedAt!.Value)));
                break;
            }

            await Task.Delay(100, deadline.Token);
        }

        var slots = ((InProcessSiloHandle)Cluster.Primary!).SiloHost!.Services.GetRequiredService<JobSlots>();
        Assert.Equal(2, slots.MostAtOnce);
        Assert.Equal(2, mostRunning);
        Assert.True(placesSeen.Count >= 2 && placesSeen.Min() == 1, $"queue places seen: {string.Join(",", placesSeen)}");
        Assert.Equal(JobState.Queued, queued.State);
        Assert.True(queued.QueuePosition > 2, $"the last job's place {queued.QueuePosition}");
        Assert.Equal((JobState.Cancelled, 0), (cancelled.State, cancelled.Attempts));
        Assert.Equal((JobState.Cancelled, 0), ((await doomed.GetStatus())!.State, (await doomed.GetStatus())!.Attempts));
        var summary = await Cluster.Client.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey).GetStatus(0);
        Assert.Equal(0, summary.Queue!.Waiting);
    }

    /// <summary>The most of <paramref name="runs"/> (start, finish) that overlapped, from the recorded times (a run that starts as another finishes does not overlap it).</summary>
    private static int MostOverlapping(IEnumerable<(DateTimeOffset Start, DateTimeOffset Finish)> runs) => runs
        .SelectMany(r => new[] { (At: r.Start, Change: 1), (At: r.Finish, Change: -1) })
        .OrderBy(e => e.At).ThenBy(e => e.Change)
        .Aggregate((Now: 0, Most: 0), (m, e) => (m.Now + e.Change, Math.Max(m.Most, m.Now + e.Change))).Most;

    public sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo
            .AddMemoryGrainStorage("hopt").UseInMemoryReminderService().UseHeavyOptimizerStore(Microsoft.Data.Sqlite.SqliteFactory.Instance, Store)
            .AddHeavyOptimizerGrains(slots: s => (s.MaxConcurrentJobs, s.Poll) = (2, TimeSpan.FromMilliseconds(100)), backends: o =>
            {
                o.DataDirectory = Path.Combine(Root, "data");
                o.OutputRoot = Path.Combine(Root, "output");
                o.HeavyDbUrl = "embedded";
                o.Compute = "cpu";
                o.InputRoots.Add(Root);
            });
    }
}
