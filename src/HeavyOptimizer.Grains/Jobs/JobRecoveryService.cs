using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>
/// Brings back jobs whose silo died: now and then, looks up today's and yesterday's unfinished jobs in the registry
/// and touches each, which activates it on a live silo, where it resumes (<see cref="JobGrain"/>).
/// </summary>
public sealed partial class JobRecoveryService(IGrainFactory grains, TimeProvider time, ILogger<JobRecoveryService> logger) : BackgroundService
{
    /// <summary>Time between sweeps.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Touches every unfinished job of the last two days; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellation)
    {
        var now = time.GetUtcNow();
        var touched = 0;
        foreach (var day in new[] { now.AddDays(-1), now })
        {
            var registry = grains.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.KeyFor(day));
            foreach (var state in new[] { JobState.Queued, JobState.Running })
            {
                foreach (var job in await registry.List(state))
                {
                    cancellation.ThrowIfCancellationRequested();
                    await grains.GetGrain<IJobGrain>(job.JobId).GetStatus();
                    touched++;
                }
            }
        }

        return touched;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job recovery sweep failed: {Reason}")]
    private partial void LogSweepFailed(string reason);
}
