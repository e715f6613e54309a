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
/// A job found unfinished when its grain activates (its silo died, or handed it back at shutdown) starts again, as a
/// new attempt on the route it already had; state writes are version-checked, so if an earlier attempt finished after
/// all, this one stops and the outcome is recorded once. An unfinished job holds a durable reminder (the watchdog), so
/// it is reactivated even when nobody asks after it; the reminder goes when the job finishes.
/// </summary>
public sealed partial class JobGrain(
    [PersistentState("job", "hopt")] IPersistentState<JobGrainState> state,
    IBackendProvider backends,
    IOptions<BackendHostOptions> options,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IRemindable
{
    private const string WatchdogReminder = "watchdog";


    private CancellationTokenSource? _cancellation;
    private JobProgress? _progress;
    private bool _handingBack;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Status is { IsFinished: false })
        {
            _cancellation = new CancellationTokenSource();
            _ = RunAsync(_cancellation.Token);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (state.State.Status is { IsFinished: false } && _cancellation is not null)
        {
            // Shutting down or rebalancing: stop the work and leave the job Running, so the next activation resumes it.
            _handingBack = true;
            await _cancellation.CancelAsync();
        }
    }

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

        if (spec.BackendOverride is not (null or "heavydb" or "parquet"))
        {
            throw new ArgumentException($"backend '{spec.BackendOverride}': heavydb or parquet");
        }

        await SaveAsync(new JobStatus { JobId = this.GetPrimaryKeyString(), Spec = spec, State = JobState.Queued, SubmittedAt = time.GetUtcNow() });
        await this.RegisterOrUpdateReminder(WatchdogReminder, options.Value.Watchdog, options.Value.Watchdog);
        _cancellation = new CancellationTokenSource();
        _ = RunAsync(_cancellation.Token);
        return state.State.Status!;
    }

    /// <inheritdoc />
    public Task<JobStatus?> GetStatus() => Task.FromResult(
        state.State.Status is { State: JobState.Running } running && _progress is { } progress ? running with { Progress = progress } : state.State.Status);

    /// <inheritdoc />
    public async Task<JobStatus?> Cancel()
    {
        if (state.State.Status is { IsFinished: false } && _cancellation is not null)
        {
            await _cancellation.CancelAsync();
        }

        return state.State.Status;
    }

    /// <inheritdoc />
    /// <remarks>Activating the grain already resumed an unfinished job; a finished one drops its watchdog.</remarks>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Status is null or { IsFinished: true })
        {
            await DropWatchdogAsync();
        }
    }

    private async Task DropWatchdogAsync()
    {
        if (await this.GetReminder(WatchdogReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task RunAsync(CancellationToken cancellation)
    {
        var jobId = this.GetPrimaryKeyString();
        var controller = GrainFactory.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
        var status = state.State.Status!;
        try
        {
            var config = await ClusterCalls.RetryAsync(controller.GetConfig, ClusterCalls.DefaultWindow, cancellation);
            var route = status.Route
                ?? (status.Spec.BackendOverride is { } only
                    ? new Route(only, null, config.Version, false)
                    : await ClusterCalls.RetryAsync(() => controller.RouteFor(jobId), ClusterCalls.DefaultWindow, cancellation));
            var strict = config.StrictValidation;
            status = status with { State = JobState.Running, Route = route, Attempts = status.Attempts + 1, StartedAt = time.GetUtcNow(), Silo = RuntimeIdentity };
            if (!await SaveAsync(status))
            {
                return;
            }

            LogStarted(jobId, route.Primary, route.Secondary ?? "none");
            var grains = GrainFactory;
            var runner = new JobRunner(backends, options.Value, async (backend, fingerprint, ct) => Backends.BackendGrain.Unflatten(
                await ClusterCalls.RetryAsync(() => grains.GetGrain<IBackendGrain>(backend).ComputeMetrics(fingerprint), ClusterCalls.DefaultWindow, ct)));
            var spec = await Uploads.MaterializeAsync(status.Spec, grains, options.Value.DataDirectory, cancellation);
            var (result, report) = await Task.Run(() => runner.RunAsync(jobId, spec, route, strict, cancellation,
                p => _progress = new JobProgress(p.Algorithm, p.Size, p.Evaluations, p.BestFitness, p.Fraction)), cancellation);
            // Recorded before the job is saved finished (the controller ignores a second outcome of one job), so a silo
            // dying in between costs a rerun, never the outcome.
            await RecordAsync(controller, new JobOutcome(jobId, result.Backend, true, result.Seconds, report?.Passed,
                report is { Passed: not null, SearchCompared: true } ? report.MaxFitnessDifference : null, time.GetUtcNow()));
            if (!await SaveAsync(status with { State = JobState.Completed, Result = result, Consistency = report, FinishedAt = time.GetUtcNow() }))
            {
                return;
            }

            LogCompleted(jobId, result.Backend, result.BestFitness, report?.Passed);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            if (!_handingBack)
            {
                await SaveAsync(status with { State = JobState.Cancelled, FinishedAt = time.GetUtcNow() });
            }
        }
        catch (Exception e)
        {
            LogFailed(jobId, e.Message);
            var seconds = (time.GetUtcNow() - (status.StartedAt ?? status.SubmittedAt)).TotalSeconds;
            await RecordAsync(controller, new JobOutcome(jobId, status.Route?.Primary ?? "unrouted", false, seconds, null, null, time.GetUtcNow()));
            await SaveAsync(status with { State = JobState.Failed, Error = e.Message, FinishedAt = time.GetUtcNow() });
        }
    }

    /// <summary>Reports an outcome to the controller; a controller out of reach costs the statistic, not the job.</summary>
    private async Task RecordAsync(IMigrationControllerGrain controller, JobOutcome outcome)
    {
        try
        {
            await ClusterCalls.RetryAsync(() => controller.Record(outcome), ClusterCalls.DefaultWindow);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogOutcomeLost(outcome.JobId, e.Message);
        }
    }

    /// <summary>Writes the job; false when another attempt changed it first (its version moved on), which then stands.</summary>
    private async Task<bool> SaveAsync(JobStatus status)
    {
        var previous = state.State.Status;
        state.State.Status = status;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            state.State.Status = previous;
            await state.ReadStateAsync();
            return false;
        }

        var registry = GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.KeyFor(status.SubmittedAt));
        await ClusterCalls.RetryAsync(() => registry.Upsert(status), ClusterCalls.DefaultWindow);
        if (status.IsFinished)
        {
            try
            {
                await DropWatchdogAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The finished job is recorded; the watchdog's next tick drops it instead.
                LogWatchdogKept(status.JobId, e.Message);
            }
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Processing job {JobId} on backend {Primary} (secondary {Secondary})")]
    private partial void LogStarted(string jobId, string primary, string secondary);

    [LoggerMessage(Level = LogLevel.Information, Message = "Completed job {JobId} on backend {Backend}: best fitness {Fitness}, consistency {Consistency}")]
    private partial void LogCompleted(string jobId, string backend, double fitness, bool? consistency);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} finished but its watchdog reminder stays until its next tick: {Reason}")]
    private partial void LogWatchdogKept(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: its outcome could not reach the migration controller: {Reason}")]
    private partial void LogOutcomeLost(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: {Reason}")]
    private partial void LogFailed(string jobId, string reason);
}

/// <summary>One hour's jobs by id; the queryable index replay, health and the dashboard use.</summary>
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
