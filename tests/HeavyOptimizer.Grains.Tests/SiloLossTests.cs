using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Silo;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>
/// Two silos sharing grain state in SQLite (the real ADO.NET provider and the project's schema): the silo running a job
/// is killed mid-job; the job resumes on the other and is recorded completed exactly once.
/// </summary>
public sealed class SiloLossTests : IAsyncLifetime
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"hopt-siloloss-{Environment.ProcessId}");
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        DatabaseSchema.RegisterProviders();
        await DatabaseSchema.ApplyAsync("sqlite", $"Data Source={Path.Combine(Root, "state.db")}");
        _cluster = new TestClusterBuilder(2).AddSiloBuilderConfigurator<Silo>().Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    [Fact]
    public async Task A_job_whose_silo_dies_completes_on_another_exactly_once()
    {
        var input = Path.Combine(Root, "long.csv");
        File.WriteAllText(input, Some.Csv(Some.RandomMatrix(200, 40, 21)));
        var job = _cluster.Client.GetGrain<IJobGrain>("survivor");
        await job.Submit(new JobSpec { InputPath = input, PortfolioSize = 10, Seed = 3, TimeLimitSeconds = 4, Algorithms = "sa" });

        var running = await Until(job, s => s.State == JobState.Running);
        var doomed = _cluster.Silos.Single(s => s.SiloAddress.ToString() == running.Silo);
        await _cluster.KillSiloAsync(doomed);

        var finished = await Until(job, s => s.IsFinished);

        Assert.Equal(JobState.Completed, finished.State);
        Assert.True(finished.Attempts >= 2, $"attempts {finished.Attempts}");
        Assert.NotEqual(running.Silo, finished.Silo);
        var registry = _cluster.Client.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.KeyFor(finished.SubmittedAt));
        Assert.Single(await registry.List(JobState.Completed), s => s.JobId == "survivor");
        var controller = _cluster.Client.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
        Assert.Equal(1, (await controller.GetStatus(0)).Backends.Sum(b => b.Jobs));
    }

    /// <summary>Polls the job (riding out the window in which the dead silo is not yet declared dead) until <paramref name="done"/>.</summary>
    private static async Task<JobStatus> Until(IJobGrain job, Func<JobStatus, bool> done)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (true)
        {
            try
            {
                var status = await job.GetStatus();
                if (status is not null && done(status))
                {
                    return status;
                }
            }
            catch (Exception e) when (e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                // The dead silo's activations are being replaced.
            }

            await Task.Delay(100, deadline.Token);
        }
    }

    private sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo
            .AddAdoNetGrainStorage("hopt", o =>
            {
                o.Invariant = DatabaseSchema.SqliteInvariant;
                o.ConnectionString = $"Data Source={Path.Combine(Root, "state.db")}";
            })
            .AddHeavyOptimizerGrains(o =>
            {
                o.DataDirectory = Path.Combine(Root, "data");
                o.OutputRoot = Path.Combine(Root, "output");
                o.HeavyDbUrl = "embedded";
                o.Compute = "cpu";
            });
    }
}
