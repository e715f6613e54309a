using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>What a job grain persists.</summary>
[GenerateSerializer]
[Alias("hopt.JobGrainState")]
public sealed class JobGrainState
{
    /// <summary>The job, null before it is submitted.</summary>
    [Id(0)] public JobStatus? Status { get; set; }
}

/// <summary>
/// One job: accepts it (idempotently), asks the controller for a route, runs it through <see cref="JobRunner"/> off the
/// grain's turn, records the outcome with the controller and the day's registry. Status reads interleave with the work.
/// </summary>
public sealed partial class JobGrain(
    [PersistentState("job", "hopt")] IPersistentState<JobGrainState> state,
    IBackendProvider backends,
    IOptions<BackendHostOptions> options,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private CancellationTokenSource? _cancellation;

    /// <inheritdoc />
    public async Task<JobStatus> Submit(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (state.State.Status is { } existing)
        {
            return existing;
        }

        if (spec.PortfolioSize is < 2 or > 100)
        {
            throw new ArgumentException($"portfolio size {spec.PortfolioSize}: a job takes 2..100");
        }

        await SaveAsync(new JobStatus { JobId = this.GetPrimaryKeyString(), Spec = spec, State = JobState.Queued, SubmittedAt = time.GetUtcNow() });
        _cancellation = new CancellationTokenSource();
        _ = RunAsync(_cancellation.Token);
        return state.State.Status!;
    }

    /// <inheritdoc />
    public Task<JobStatus?> GetStatus() => Task.FromResult(state.State.Status);

    /// <inheritdoc />
    public async Task<JobStatus?> Cancel()
    {
        if (state.State.Status is { IsFinished: false } && _cancellation is not null)
        {
            await _cancellation.CancelAsync();
        }

        return state.State.Status;
    }

    private async Task RunAsync(CancellationToken cancellation)
    {
        var jobId = this.GetPrimaryKeyString();
        var controller = GrainFactory.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
        var status = state.State.Status!;
        try
        {
            var route = await controller.RouteFor(jobId);
            var strict = (await controller.GetConfig()).StrictValidation;
            status = status with { State = JobState.Running, Route = route, Attempts = status.Attempts + 1, StartedAt = time.GetUtcNow() };
            await SaveAsync(status);
            LogStarted(jobId, route.Primary, route.Secondary ?? "none");
            var runner = new JobRunner(backends, options.Value);
            var (result, report) = await Task.Run(() => runner.RunAsync(jobId, status.Spec, route, strict, cancellation), cancellation);
            status = status with { State = JobState.Completed, Result = result, Consistency = report, FinishedAt = time.GetUtcNow() };
            await SaveAsync(status);
            LogCompleted(jobId, result.Backend, result.BestFitness, report?.Passed);
            await controller.Record(new JobOutcome(jobId, result.Backend, true, result.Seconds, report?.Passed,
                report is { Passed: not null } ? report.MaxFitnessDifference : null, time.GetUtcNow()));
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await SaveAsync(status with { State = JobState.Cancelled, FinishedAt = time.GetUtcNow() });
        }
        catch (Exception e)
        {
            LogFailed(jobId, e.Message);
            await SaveAsync(status with { State = JobState.Failed, Error = e.Message, FinishedAt = time.GetUtcNow() });
            var backend = status.Route?.Primary ?? "unrouted";
            await controller.Record(new JobOutcome(jobId, backend, false, (time.GetUtcNow() - (status.StartedAt ?? status.SubmittedAt)).TotalSeconds, null, null, time.GetUtcNow()));
        }
    }

    private async Task SaveAsync(JobStatus status)
    {
        state.State.Status = status;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.KeyFor(status.SubmittedAt)).Upsert(status);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Processing job {JobId} on backend {Primary} (secondary {Secondary})")]
    private partial void LogStarted(string jobId, string primary, string secondary);

    [LoggerMessage(Level = LogLevel.Information, Message = "Completed job {JobId} on backend {Backend}: best fitness {Fitness}, consistency {Consistency}")]
    private partial void LogCompleted(string jobId, string backend, double fitness, bool? consistency);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: {Reason}")]
    private partial void LogFailed(string jobId, string reason);
}

/// <summary>One day's jobs by id; the queryable index replay, health and the dashboard use.</summary>
public sealed class JobRegistryGrain([PersistentState("registry", "hopt")] IPersistentState<Dictionary<string, JobStatus>> state) : Grain, IJobRegistryGrain
{
    /// <inheritdoc />
    public Task Upsert(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        state.State[status.JobId] = status;
        return state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobStatus>> List(JobState? jobState) =>
        Task.FromResult<IReadOnlyList<JobStatus>>(state.State.Values.Where(s => jobState is null || s.State == jobState).OrderBy(s => s.SubmittedAt).ToList());
}
