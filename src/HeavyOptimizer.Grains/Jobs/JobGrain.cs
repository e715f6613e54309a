using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Storage;
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
/// One job's record: checks and accepts it (idempotently), puts it in the cluster's queue, and keeps its state as the
/// job slots that run it report (<see cref="JobSlots"/>): <see cref="Begin"/> starts an attempt (routing the job the
/// first time), <see cref="Report"/> carries its progress and answers whether to go on, <see cref="Finish"/> records
/// how it ended, once, and reports the outcome to the controller before saving the job finished. The state is one row
/// of <c>hopt_jobs</c>, version-checked, and readers see only what is stored. An unfinished job holds a durable reminder
/// (the watchdog), registered before the job is acknowledged, whose tick puts it back in the queue should it be missing
/// (a write that failed half-way); a job whose silo died is taken by another once its lease lapses.
/// </summary>
public sealed partial class JobGrain(
    [PersistentState("job", "hopt")] IPersistentState<JobGrainState> legacy,
    ClusterStore store,
    IOptions<BackendHostOptions> options,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IRemindable
{
    private const string WatchdogReminder = "watchdog";

    private JobStatus? _status;
    private long _version;
    private JobProgress? _progress;
    private DateTimeOffset? _lastProgressAt;
    private InputRoots? _roots;

    private string JobId => this.GetPrimaryKeyString();

    private InputRoots Roots => _roots ??= new InputRoots(options.Value.AllInputRoots);

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await store.GetJobAsync(JobId, cancellationToken) is var (status, version))
        {
            (_status, _version) = (status, version);
        }
        else if (legacy.State.Status is { } carried)
        {
            // Kept by an earlier build in Orleans' storage: carried into the store once, and queued again if unfinished.
            _version = await store.SaveJobAsync(carried, 0, cancellationToken) ?? throw new InvalidOperationException($"job {JobId} was carried over twice at once");
            _status = carried;
            await EnqueueIfUnfinishedAsync();
        }
    }

    /// <inheritdoc />
    public async Task<JobStatus> Submit(JobSpec spec)
    {
        var normal = await ValidateAsync(spec);
        if (_status is { } existing)
        {
            if (!existing.IsFinished)
            {
                // Acknowledged before, perhaps without its watchdog or its place in the queue (a write failed half-way): make sure of both.
                await this.RegisterOrUpdateReminder(WatchdogReminder, options.Value.Watchdog, options.Value.Watchdog);
                await EnqueueIfUnfinishedAsync();
            }

            return await GetStatus() ?? existing;
        }

        await this.RegisterOrUpdateReminder(WatchdogReminder, options.Value.Watchdog, options.Value.Watchdog);
        await SaveAsync(_ => new JobStatus { JobId = JobId, Spec = normal, State = JobState.Queued, SubmittedAt = time.GetUtcNow(), Owner = CallerProof.Current?.Name });
        await EnqueueIfUnfinishedAsync();
        if (normal.ReplayOf is { } original)
        {
            await NoteReplayOnAsync(original);
        }

        return await GetStatus() ?? _status!;
    }

    /// <inheritdoc />
    public Task Check(JobSpec spec) => ValidateAsync(spec);

    /// <inheritdoc />
    public async Task NoteReplay(string replayId)
    {
        if (_status is { } status && !status.Replays.Contains(replayId))
        {
            await SaveAsync(s => s with { Replays = s.Replays.Append(replayId).ToArray() });
        }
    }

    /// <inheritdoc />
    public async Task<JobStatus?> GetStatus() => _status switch
    {
        { State: JobState.Queued } queued => queued with { QueuePosition = (await store.PlaceAsync(JobId))?.Position },
        { State: JobState.Running } running => running with { Progress = _progress, LastProgressAt = _lastProgressAt },
        var other => other,
    };

    /// <inheritdoc />
    public async Task<JobStatus?> Cancel()
    {
        if (CallerProof.Current is { Role: Role.Submitter } caller && _status is { } job && job.Owner != caller.Name)
        {
            throw new AccessDeniedException($"{caller} may not cancel {JobId}: it is {job.Owner ?? "nobody"}'s job (operators may cancel any)");
        }

        switch (_status)
        {
            case { State: JobState.Queued }:
                // Not started: out of the queue and finished at once (a slot that took it meanwhile finds it finished).
                await SaveAsync(s => s with { State = JobState.Cancelled, Cause = FailureCause.Cancelled, FinishedAt = time.GetUtcNow() });
                break;
            case { State: JobState.Running, CancelRequested: false }:
                // Its slot sees the request at its next renewal or report, stops the run and finishes the job Cancelled.
                await SaveAsync(s => s with { CancelRequested = true });
                await store.RequestCancelAsync(JobId);
                break;
        }

        return await GetStatus();
    }

    /// <inheritdoc />
    public async Task<JobTicket?> Begin(string silo)
    {
        switch (_status)
        {
            case null or { IsFinished: true }:
                await store.RemoveAsync(JobId);
                return null;
            case { CancelRequested: true }:
                await SaveAsync(s => s with { State = JobState.Cancelled, Cause = FailureCause.Cancelled, FinishedAt = time.GetUtcNow() });
                return null;
        }

        var status = _status;
        var route = status.Route;
        if (route is null)
        {
            var controller = GrainFactory.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
            if (status.Spec.ShadowOf is not null)
            {
                // Backfill: both backends, the candidate mirrored and compared, whatever the phase.
                var config = await ClusterCalls.RetryAsync(controller.GetConfig, ClusterCalls.DefaultWindow);
                var candidate = status.Spec.BackendOverride ?? Migration.MigrationPolicy.Parquet;
                var primary = candidate == Migration.MigrationPolicy.Parquet ? Migration.MigrationPolicy.HeavyDb : Migration.MigrationPolicy.Parquet;
                route = new Route(primary, candidate, config.Version, true, config.Phase, config.TrafficPercentParquet, config.StrictValidation, config.GpuEnabled, config.LogBackendPerformance);
            }
            else if (status.Spec.BackendOverride is { } only)
            {
                var config = await ClusterCalls.RetryAsync(controller.GetConfig, ClusterCalls.DefaultWindow);
                route = new Route(only, null, config.Version, false, config.Phase, config.TrafficPercentParquet, false, config.GpuEnabled, config.LogBackendPerformance);
            }
            else
            {
                route = await ClusterCalls.RetryAsync(() => controller.RouteFor(JobId), ClusterCalls.DefaultWindow);
            }
        }

        (_progress, _lastProgressAt) = (null, time.GetUtcNow());
        await SaveAsync(s => s with { State = JobState.Running, Route = route, Attempts = s.Attempts + 1, StartedAt = time.GetUtcNow(), Silo = silo });
        LogStarted(JobId, _status.Attempts, silo, route.Primary, route.Secondary ?? "none");
        return new JobTicket(_status.Attempts, _status.Spec, route, _status.SubmittedAt);
    }

    /// <inheritdoc />
    public Task<bool> Report(int attempt, JobProgress? progress)
    {
        if (_status is not { State: JobState.Running, CancelRequested: false } running || running.Attempts != attempt)
        {
            return Task.FromResult(false);
        }

        if (progress is not null && progress != _progress)
        {
            (_progress, _lastProgressAt) = (progress, time.GetUtcNow());
        }

        return Task.FromResult(true);
    }

    /// <inheritdoc />
    public async Task<bool> Finish(int attempt, JobEnd end)
    {
        ArgumentNullException.ThrowIfNull(end);
        if (_status is not { State: JobState.Running } running || running.Attempts != attempt)
        {
            return false;
        }

        var now = time.GetUtcNow();
        var seconds = (now - (running.StartedAt ?? running.SubmittedAt)).TotalSeconds;
        switch (end.State)
        {
            case JobState.Completed when end.Result is { } result:
                // Recorded before the job is saved finished (the controller keeps a job's first outcome only), so a silo
                // dying in between costs a rerun, never the outcome.
                var report = end.Consistency;
                await RecordAsync(new JobOutcome(JobId, result.Backend, true, result.Seconds, report?.Passed,
                    report is { Passed: not null, SearchCompared: true } ? report.MaxFitnessDifference : null, now, null, running.Route, end.BackendSeconds));
                await SaveAsync(s => s with { State = JobState.Completed, Result = result, Consistency = report, FinishedAt = now });
                LogCompleted(JobId, result.Backend, result.BestFitness, report?.Summary ?? "not mirrored");
                break;
            case JobState.Failed:
                var cause = end.Cause ?? FailureCause.Internal;
                var message = Core.Messages.OneLine(end.Error ?? "no reason given");
                if (cause == FailureCause.Input)
                {
                    LogFailedOnInput(JobId, message);
                }
                else
                {
                    LogFailed(JobId, cause.ToString().ToLowerInvariant(), message);
                }

                await RecordAsync(new JobOutcome(JobId, running.Route?.Primary ?? "unrouted", false, seconds, null, null, now, cause, running.Route));
                await SaveAsync(s => s with { State = JobState.Failed, Error = message, Cause = cause, FinishedAt = now });
                break;
            case JobState.Cancelled:
                await SaveAsync(s => s with { State = JobState.Cancelled, Cause = FailureCause.Cancelled, FinishedAt = now });
                break;
            default:
                throw new ArgumentException($"job {JobId}: an attempt ends Completed (with a result), Failed or Cancelled, not {end.State}");
        }

        return true;
    }

    /// <inheritdoc />
    /// <remarks>An unfinished job is put back in the queue should it be missing there; a finished one drops its watchdog.</remarks>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (_status is null or { IsFinished: true })
        {
            await DropWatchdogAsync();
        }
        else
        {
            await EnqueueIfUnfinishedAsync();
        }
    }

    /// <summary>The request checked as <see cref="Submit"/> and <see cref="Check"/> take it: id, fields, input location, and the id not taken by another request.</summary>
    private async Task<JobSpec> ValidateAsync(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        JobRequests.ValidateId(JobId);
        var normal = JobRequests.Normalize(spec);
        if (normal.ReplayOf == JobId)
        {
            throw new InvalidJobException("replay_of", $"job {JobId} cannot replay itself");
        }

        if (_status is { } existing)
        {
            return existing.Spec == normal
                ? normal
                : throw new InvalidJobException("job_id",
                    $"job {JobId} already exists with a different request (submitted {existing.SubmittedAt:u}, {existing.State}): choose another job id, or submit the identical request");
        }

        if (Uploads.KeyOf(normal.InputPath) is { } upload)
        {
            if (!await ClusterCalls.RetryAsync(GrainFactory.GetGrain<IUploadGrain>(upload).Exists, ClusterCalls.DefaultWindow))
            {
                throw new InvalidJobException("input", $"input {normal.InputPath}: no such upload in the cluster (upload the file first)");
            }
        }
        else
        {
            Roots.Resolve(normal.InputPath);
        }

        return normal;
    }

    private async Task EnqueueIfUnfinishedAsync()
    {
        if (_status is { IsFinished: false } status)
        {
            await store.EnqueueAsync(JobId, status.Owner ?? string.Empty, status.SubmittedAt);
        }
    }

    private async Task NoteReplayOnAsync(string original)
    {
        try
        {
            await ClusterCalls.RetryAsync(() => GrainFactory.GetGrain<IJobGrain>(original).NoteReplay(JobId), ClusterCalls.DefaultWindow);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReplayNotNoted(JobId, original, e.Message);
        }
    }

    private async Task DropWatchdogAsync()
    {
        if (await this.GetReminder(WatchdogReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>
    /// Reports an outcome to the controller, riding out a silo's death; should the controller stay out of reach, the
    /// call fails and the job stays unfinished (its slot retries, or another attempt reruns it): the controller's count
    /// of outcomes never falls behind the jobs finished.
    /// </summary>
    private async Task RecordAsync(JobOutcome outcome)
    {
        var controller = GrainFactory.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
        if (_status?.Spec.ShadowOf is { } original)
        {
            // A backfill comparison is evidence about the candidate, not a live job: it never enters the window. It is
            // the original job's verdict (validating it again replaces it).
            await ClusterCalls.RetryAsync(() => controller.RecordBackfill(outcome with { JobId = original }), ClusterCalls.DefaultWindow);
            return;
        }

        await ClusterCalls.RetryAsync(() => controller.Record(outcome), ClusterCalls.DefaultWindow);
        Observability.HoptInstruments.JobFinished(outcome);
    }

    /// <summary>
    /// Writes the job changed by <paramref name="update"/> to its row, at the version this activation read; readers see
    /// it only once stored. A finished job leaves the queue and drops its watchdog. When another writer moved the row
    /// on (two activations for a moment), this one reloads and the call fails, to be retried on the stored job.
    /// </summary>
    private async Task SaveAsync(Func<JobStatus, JobStatus> update)
    {
        var status = update(_status!);
        if (await store.SaveJobAsync(status, _version) is not { } version)
        {
            if (await store.GetJobAsync(JobId) is var (stored, storedVersion))
            {
                (_status, _version) = (stored, storedVersion);
            }

            throw new InvalidOperationException($"job {JobId} was changed by another activation meanwhile; retry");
        }

        (_status, _version) = (status, version);
        if (status.IsFinished)
        {
            await store.RemoveAsync(JobId);
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
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Processing job {JobId} on backend {Primary} (secondary {Secondary}), attempt {Attempt} on {Silo}")]
    private partial void LogStarted(string jobId, int attempt, string silo, string primary, string secondary);

    [LoggerMessage(Level = LogLevel.Information, Message = "Completed job {JobId} on backend {Backend}: best fitness {Fitness}, consistency {Consistency}")]
    private partial void LogCompleted(string jobId, string backend, double fitness, string consistency);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} finished but its watchdog reminder stays until its next tick: {Reason}")]
    private partial void LogWatchdogKept(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} replays {Original}, which could not be told so: {Reason}")]
    private partial void LogReplayNotNoted(string jobId, string original, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed (input): {Reason}")]
    private partial void LogFailedOnInput(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed ({Cause}): {Reason}")]
    private partial void LogFailed(string jobId, string cause, string reason);
}
