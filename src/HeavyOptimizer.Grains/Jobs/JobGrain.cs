using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Data;
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
/// One job: checks and accepts it (idempotently), asks the controller for a route, runs it through
/// <see cref="JobRunner"/> off the grain's turn, records the outcome with the controller and the hour's registry.
/// The run is owned: the grain keeps its task, every way it ends is recorded (Completed, Failed with its
/// <see cref="FailureCause"/>, Cancelled), and deactivation waits for it to stop. A job found unfinished when its grain
/// activates (its silo died, or handed it back at shutdown) starts again, as a new attempt on the route it already had;
/// state writes are version-checked, so if an earlier attempt finished after all, this one stops and the outcome is
/// recorded once. An unfinished job holds a durable reminder (the watchdog), registered before the job is
/// acknowledged: its tick reactivates the job when nobody asks after it, and restarts the run when none is in flight.
/// Status reads interleave with the work and show only what has been stored.
/// </summary>
public sealed partial class JobGrain(
    [PersistentState("job", "hopt")] IPersistentState<JobGrainState> state,
    IBackendProvider backends,
    IOptions<BackendHostOptions> options,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IRemindable
{
    private const string WatchdogReminder = "watchdog";

    /// <summary>How long deactivation waits for a run to stop.</summary>
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(10);

    private CancellationTokenSource? _cancellation;
    private Task? _run;
    private JobStatus? _visible;
    private JobProgress? _progress;
    private DateTimeOffset? _lastProgressAt;
    private bool _handingBack;
    private InputRoots? _roots;

    private string JobId => this.GetPrimaryKeyString();

    private InputRoots Roots => _roots ??= new InputRoots(options.Value.AllInputRoots);

    private bool RunInFlight => _run is { IsCompleted: false };

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _visible = state.State.Status;
        if (_visible is { IsFinished: false })
        {
            StartRun();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (RunInFlight && _cancellation is not null)
        {
            // Shutting down or rebalancing: stop the work and leave the job Running, so the next activation resumes it.
            _handingBack = true;
            await _cancellation.CancelAsync();
            try
            {
                await _run!.WaitAsync(StopWait, cancellationToken);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                LogStopSlow(JobId, StopWait.TotalSeconds);
            }
        }
    }

    /// <inheritdoc />
    public async Task<JobStatus> Submit(JobSpec spec)
    {
        var normal = await ValidateAsync(spec);
        if (state.State.Status is { } existing)
        {
            if (!existing.IsFinished)
            {
                // Acknowledged before, perhaps without its watchdog or run (a write failed half-way): make sure of both.
                await this.RegisterOrUpdateReminder(WatchdogReminder, options.Value.Watchdog, options.Value.Watchdog);
                if (!RunInFlight)
                {
                    StartRun();
                }
            }

            return existing;
        }

        await this.RegisterOrUpdateReminder(WatchdogReminder, options.Value.Watchdog, options.Value.Watchdog);
        await SaveAsync(_ => new JobStatus { JobId = JobId, Spec = normal, State = JobState.Queued, SubmittedAt = time.GetUtcNow(), Owner = CallerProof.Current?.Name });
        if (normal.ReplayOf is { } original)
        {
            await NoteReplayOnAsync(original);
        }

        StartRun();
        return state.State.Status!;
    }

    /// <inheritdoc />
    public Task Check(JobSpec spec) => ValidateAsync(spec);

    /// <inheritdoc />
    public async Task NoteReplay(string replayId)
    {
        if (state.State.Status is { } status && !status.Replays.Contains(replayId))
        {
            await SaveAsync(s => s with { Replays = s.Replays.Append(replayId).ToArray() });
        }
    }

    /// <inheritdoc />
    public Task<JobStatus?> GetStatus() => Task.FromResult(
        _visible is { State: JobState.Running } running && RunInFlight
            ? running with { Progress = _progress, LastProgressAt = _lastProgressAt }
            : _visible);

    /// <inheritdoc />
    public async Task<JobStatus?> Cancel()
    {
        if (CallerProof.Current is { Role: Role.Submitter } caller && _visible is { } job && job.Owner != caller.Name)
        {
            throw new AccessDeniedException($"{caller} may not cancel {JobId}: it is {job.Owner ?? "nobody"}'s job (operators may cancel any)");
        }

        if (_visible is { IsFinished: false } && _cancellation is not null)
        {
            await _cancellation.CancelAsync();
        }

        return _visible;
    }

    /// <inheritdoc />
    /// <remarks>Activating the grain resumed an unfinished job; a tick restarts one whose run is gone; a finished one drops its watchdog.</remarks>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Status is null or { IsFinished: true })
        {
            await DropWatchdogAsync();
        }
        else if (!RunInFlight)
        {
            LogRestarted(JobId);
            StartRun();
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

        if (state.State.Status is { } existing)
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

    /// <summary>Starts the run and keeps it: a fault that escapes it (a state write failing on its failure path) is logged, and the watchdog starts it again.</summary>
    private void StartRun()
    {
        _handingBack = false;
        _cancellation = new CancellationTokenSource();
        _lastProgressAt = time.GetUtcNow();
        _run = SuperviseAsync(_cancellation.Token);
    }

    private async Task SuperviseAsync(CancellationToken cancellation)
    {
        try
        {
            await RunAsync(cancellation);
        }
        catch (Exception e)
        {
            LogRunFaulted(JobId, Core.Messages.OneLine(e.Message));
        }
    }

    private async Task RunAsync(CancellationToken cancellation)
    {
        var jobId = JobId;
        var controller = GrainFactory.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);
        var status = state.State.Status!;
        try
        {
            var route = status.Route;
            if (route is null)
            {
                var config = await ClusterCalls.RetryAsync(controller.GetConfig, ClusterCalls.DefaultWindow, cancellation);
                route = status.Spec.BackendOverride is { } only
                    ? new Route(only, null, config.Version, false, config.Phase, config.TrafficPercentParquet, false, config.GpuEnabled, config.LogBackendPerformance)
                    : await ClusterCalls.RetryAsync(() => controller.RouteFor(jobId), ClusterCalls.DefaultWindow, cancellation);
            }

            if (!await SaveAsync(s => s with { State = JobState.Running, Route = route, Attempts = s.Attempts + 1, StartedAt = time.GetUtcNow(), Silo = RuntimeIdentity }))
            {
                return;
            }

            status = state.State.Status!;
            LogStarted(jobId, route.Primary, route.Secondary ?? "none");
            var spec = Uploads.KeyOf(status.Spec.InputPath) is null
                ? status.Spec with { InputPath = Roots.Resolve(status.Spec.InputPath) }
                : await Uploads.MaterializeAsync(status.Spec, GrainFactory, options.Value.DataDirectory, cancellation);
            var grains = GrainFactory;
            // A slow computation is not a dead silo: its timeouts are not retried, which would only add load.
            var runner = new JobRunner(backends, options.Value, async (backend, fingerprint, gpu, ct) => Backends.BackendGrain.Unflatten(
                await ClusterCalls.RetryAsync(grains.GetGrain<IBackendGrain>(IBackendGrain.KeyFor(backend, fingerprint, gpu)).ComputeMetrics, ClusterCalls.DefaultWindow, ct, retryTimeouts: false)));
            var run = await Task.Run(() => runner.RunAsync(jobId, spec, route, cancellation, p =>
            {
                _progress = new JobProgress(p.Algorithm, p.Size, p.Evaluations, p.BestFitness, p.Fraction);
                _lastProgressAt = time.GetUtcNow();
            }), cancellation);
            if (route.LogPerformance)
            {
                foreach (var timings in new[] { run.Primary, run.Secondary }.OfType<BackendTimings>())
                {
                    LogPerformance(jobId, timings.Backend, timings.Ingest, timings.Load, timings.Search, timings.Metrics, timings.Total);
                }
            }

            // Recorded before the job is saved finished (the controller ignores a second outcome of one job), so a silo
            // dying in between costs a rerun, never the outcome.
            var report = run.Report;
            await RecordAsync(controller, new JobOutcome(jobId, run.Result.Backend, true, run.Result.Seconds, report?.Passed,
                report is { Passed: not null, SearchCompared: true } ? report.MaxFitnessDifference : null, time.GetUtcNow(), null, route, run.Primary.BackendSeconds));
            if (await SaveAsync(s => s with { State = JobState.Completed, Result = run.Result, Consistency = report, FinishedAt = time.GetUtcNow() }))
            {
                LogCompleted(jobId, run.Result.Backend, run.Result.BestFitness, report?.Summary ?? "not mirrored");
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            if (!_handingBack)
            {
                await SaveAsync(s => s with { State = JobState.Cancelled, Cause = FailureCause.Cancelled, FinishedAt = time.GetUtcNow() });
            }
        }
        catch (Exception e)
        {
            var cause = CauseOf(e);
            var message = Core.Messages.OneLine(e.Message);
            if (cause == FailureCause.Input)
            {
                LogFailedOnInput(jobId, message);
            }
            else
            {
                LogFailed(jobId, cause.ToString().ToLowerInvariant(), message);
            }

            var current = state.State.Status!;
            var seconds = (time.GetUtcNow() - (current.StartedAt ?? current.SubmittedAt)).TotalSeconds;
            await RecordAsync(controller, new JobOutcome(jobId, current.Route?.Primary ?? "unrouted", false, seconds, null, null, time.GetUtcNow(), cause, current.Route));
            await SaveAsync(s => s with { State = JobState.Failed, Error = message, Cause = cause, FinishedAt = time.GetUtcNow() });
        }
    }

    /// <summary>Whose fault <paramref name="e"/> is: the request's input, a backend, or the cluster itself.</summary>
    internal static FailureCause CauseOf(Exception e) => e switch
    {
        DatasetException or InvalidJobException => FailureCause.Input,
        BackendException => FailureCause.Backend,
        _ => FailureCause.Internal,
    };

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

    /// <summary>
    /// Writes the job changed by <paramref name="update"/> (applied to the job as stored, so concurrent notes are kept);
    /// readers see it only once stored. False when another attempt changed it first (its version moved on), which then stands.
    /// </summary>
    private async Task<bool> SaveAsync(Func<JobStatus, JobStatus> update)
    {
        var previous = state.State.Status;
        var status = update(previous!);
        state.State.Status = status;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            await state.ReadStateAsync();
            _visible = state.State.Status;
            return false;
        }
        catch
        {
            state.State.Status = previous;
            throw;
        }

        _visible = status;
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
    private partial void LogCompleted(string jobId, string backend, double fitness, string consistency);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backend performance of job {JobId} on {Backend}: ingest {Ingest:F3} s, load {Load:F3} s, search {Search:F3} s, metrics {Metrics:F3} s, total {Total:F3} s")]
    private partial void LogPerformance(string jobId, string backend, double ingest, double load, double search, double metrics, double total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} finished but its watchdog reminder stays until its next tick: {Reason}")]
    private partial void LogWatchdogKept(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: its outcome could not reach the migration controller: {Reason}")]
    private partial void LogOutcomeLost(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} replays {Original}, which could not be told so: {Reason}")]
    private partial void LogReplayNotNoted(string jobId, string original, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} had no run in flight: the watchdog started it again")]
    private partial void LogRestarted(string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: its run did not stop within {Seconds} s of deactivation")]
    private partial void LogStopSlow(string jobId, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId}: its run ended without recording an end ({Reason}); the watchdog will start it again")]
    private partial void LogRunFaulted(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed (input): {Reason}")]
    private partial void LogFailedOnInput(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed ({Cause}): {Reason}")]
    private partial void LogFailed(string jobId, string cause, string reason);
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
