using System.Collections.Concurrent;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>How many jobs a silo runs at once, and how it holds them.</summary>
public sealed class JobSlotOptions
{
    /// <summary>The memory one job is allowed for in the default slot count (a 25,544-strategy job peaks below it).</summary>
    public const long BytesPerJob = 2L << 30;

    /// <summary>
    /// Jobs this silo runs at once (<c>--max-jobs</c>); the rest wait in the cluster's queue. Default: one per core, as
    /// many as the memory holds at <see cref="BytesPerJob"/> each, at most 4 (the legacy processor's limit), at least 1.
    /// </summary>
    public int MaxConcurrentJobs { get; set; } = DefaultSlots(Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>How long a silo's hold on a job lasts unless renewed: a silo that died frees its jobs this long after its last renewal. Default 30 s.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a silo with a free slot looks for work; default 1 s.</summary>
    public TimeSpan Poll { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a stopping silo waits for its runs to stop before handing their jobs back; default 10 s.</summary>
    public TimeSpan StopWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The default slot count for a machine with <paramref name="cores"/> and <paramref name="memoryBytes"/>.</summary>
    public static int DefaultSlots(int cores, long memoryBytes) => Math.Clamp(Math.Min(cores, (int)Math.Min(int.MaxValue, memoryBytes / BytesPerJob)), 1, 4);

    /// <summary>A one-line message for each setting that cannot work, empty when all can.</summary>
    public IEnumerable<string> Problems()
    {
        if (MaxConcurrentJobs is < 1 or > 1024)
        {
            yield return $"max concurrent jobs {MaxConcurrentJobs}: 1..1024";
        }

        if (Lease < TimeSpan.FromSeconds(3))
        {
            yield return $"job lease {Lease}: at least 3 s (it is renewed every third of it)";
        }

        if (Poll <= TimeSpan.Zero || Poll > Lease)
        {
            yield return $"job poll {Poll}: more than 0 and at most the lease ({Lease})";
        }

        if (StopWait < TimeSpan.Zero)
        {
            yield return $"job stop wait {StopWait}: not negative";
        }
    }
}

/// <summary>
/// A silo's job slots: at most <see cref="JobSlotOptions.MaxConcurrentJobs"/> jobs at a time, taken from the cluster's
/// queue (<see cref="ClusterStore.LeaseAsync"/>, fair across submitters) as slots free up, so a silo that joins takes
/// work at once and a busy one takes none. Each job runs here through <see cref="JobRunner"/>, its cores shared with
/// the other jobs running; its job grain records it (<see cref="IJobGrain.Begin"/>, <see cref="IJobGrain.Report"/>,
/// <see cref="IJobGrain.Finish"/>). The silo renews its leases every third of a lease; a job cancelled or taken over
/// meanwhile is stopped. A silo seen dead by the membership has its jobs released at once (its leases would lapse
/// anyway). Stopping, the silo stops its runs and hands their jobs back to the queue for another silo.
/// </summary>
public sealed partial class JobSlots(
    ClusterStore store,
    IGrainFactory grains,
    IBackendProvider backends,
    IOptions<BackendHostOptions> hostOptions,
    IOptions<JobSlotOptions> slotOptions,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    TimeProvider time,
    ILogger<JobSlots> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Slot> _running = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0);
    private Task _loop = Task.CompletedTask;
    private Task _watch = Task.CompletedTask;
    private InputRoots? _roots;

    /// <summary>The name this silo holds leases under: its address and generation, so a restarted silo never inherits a dead one's.</summary>
    public string Name => silo.SiloAddress.ToString();

    /// <summary>The jobs running here now.</summary>
    public IReadOnlyCollection<string> Running => _running.Keys.ToList();

    /// <summary>The most jobs that ran here at once since the silo started.</summary>
    public int MostAtOnce { get; private set; }

    private JobSlotOptions Options => slotOptions.Value;

    private InputRoots Roots => _roots ??= new InputRoots(hostOptions.Value.AllInputRoots);

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(JobSlots), ServiceLifecycleStage.Active, StartAsync, StopAsync);
    }

    /// <summary>Whose fault <paramref name="e"/> is: the request's input, a backend, or the cluster itself.</summary>
    internal static FailureCause CauseOf(Exception e) => e switch
    {
        DatasetException or InvalidJobException => FailureCause.Input,
        BackendException => FailureCause.Backend,
        _ => FailureCause.Internal,
    };

    private Task StartAsync(CancellationToken cancellation)
    {
        LogStarting(Name, Options.MaxConcurrentJobs, Options.Lease.TotalSeconds);
        _loop = Task.Run(() => LoopAsync(_stopping.Token), CancellationToken.None);
        _watch = Task.Run(() => WatchMembershipAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops taking work, stops the runs (bounded wait), and hands every job this silo holds back to the queue.</summary>
    private async Task StopAsync(CancellationToken cancellation)
    {
        await _stopping.CancelAsync();
        var running = _running.Values.ToList();
        foreach (var slot in running)
        {
            slot.Stop(StopReason.HandBack);
        }

        var stopped = Task.WhenAll(running.Select(s => s.Task).Append(_loop).Append(_watch));
        if (await Task.WhenAny(stopped, Task.Delay(Options.StopWait, CancellationToken.None)) != stopped)
        {
            LogStopSlow(Name, Options.StopWait.TotalSeconds, string.Join(", ", _running.Keys));
        }

        try
        {
            var released = await store.ReleaseAsync(Name, cancellation: CancellationToken.None);
            LogHandedBack(Name, released);
        }
        catch (Exception e)
        {
            // Their leases lapse instead, and another silo takes them then.
            LogHandBackFailed(Name, Core.Messages.OneLine(e.Message));
        }
    }

    private async Task LoopAsync(CancellationToken stopping)
    {
        var renewed = time.GetUtcNow();
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var free = Options.MaxConcurrentJobs - _running.Count;
                foreach (var jobId in await store.LeaseAsync(Name, free, Options.Lease, stopping))
                {
                    Start(jobId);
                }

                if (time.GetUtcNow() - renewed >= Options.Lease / 3)
                {
                    await RenewAsync(stopping);
                    renewed = time.GetUtcNow();
                }
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                LogStoreFailed(Name, Core.Messages.OneLine(e.Message));
            }

            try
            {
                await _wake.WaitAsync(Options.Poll, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Renews this silo's leases; a job no longer held (finished elsewhere, or taken over after a lapse) or asked to stop is stopped here.</summary>
    private async Task RenewAsync(CancellationToken cancellation)
    {
        var (held, cancelled) = await store.RenewAsync(Name, _running.Keys.ToList(), Options.Lease, cancellation);
        foreach (var (jobId, slot) in _running)
        {
            if (!held.Contains(jobId))
            {
                slot.Stop(StopReason.Lost);
            }
            else if (cancelled.Contains(jobId))
            {
                slot.Stop(StopReason.Cancelled);
            }
        }
    }

    private async Task WatchMembershipAsync(CancellationToken stopping)
    {
        var released = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stopping))
            {
                foreach (var dead in snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress.ToString()))
                {
                    if (!released.Contains(dead) && await store.ReleaseAsync(dead, cancellation: stopping) is var count)
                    {
                        released.Add(dead);
                        if (count > 0)
                        {
                            LogReleasedDead(Name, dead, count);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Leases of a dead silo lapse on their own; this only makes it sooner.
            LogStoreFailed(Name, Core.Messages.OneLine(e.Message));
        }
    }

    private void Start(string jobId)
    {
        var slot = new Slot(jobId);
        if (!_running.TryAdd(jobId, slot))
        {
            return;
        }

        MostAtOnce = Math.Max(MostAtOnce, _running.Count);
        slot.Task = Task.Run(() => RunAsync(slot), CancellationToken.None);
    }

    private async Task RunAsync(Slot slot)
    {
        var job = grains.GetGrain<IJobGrain>(slot.JobId);
        try
        {
            var ticket = await ClusterCalls.RetryAsync(() => job.Begin(Name), ClusterCalls.DefaultWindow, slot.Token);
            if (ticket is null)
            {
                return;
            }

            JobEnd end;
            try
            {
                end = await ExecuteAsync(job, slot, ticket);
            }
            catch (OperationCanceledException) when (slot.Token.IsCancellationRequested)
            {
                if (slot.Reason != StopReason.Cancelled)
                {
                    // Handed back or taken over: the job is not this attempt's to finish.
                    return;
                }

                end = new JobEnd(JobState.Cancelled);
            }
            catch (Exception e)
            {
                end = new JobEnd(JobState.Failed, Error: Core.Messages.OneLine(e.Message), Cause: CauseOf(e));
            }

            await ClusterCalls.RetryAsync(() => job.Finish(ticket.Attempt, end), ClusterCalls.DefaultWindow);
        }
        catch (Exception e) when (slot.Reason is not StopReason.HandBack)
        {
            // The job stays in the queue: its lease lapses (a pause before the retry), then it runs again here or
            // elsewhere, as a new attempt (a second outcome would be ignored).
            LogRunFailed(slot.JobId, Name, Options.Lease.TotalSeconds, Core.Messages.OneLine(e.Message));
        }
        catch (Exception)
        {
            // Stopping: the hand-back releases it.
        }
        finally
        {
            _running.TryRemove(slot.JobId, out _);
            _wake.Release();
            slot.Dispose();
        }
    }

    private async Task<JobEnd> ExecuteAsync(IJobGrain job, Slot slot, JobTicket ticket)
    {
        var spec = Uploads.KeyOf(ticket.Spec.InputPath) is null
            ? ticket.Spec with { InputPath = Roots.Resolve(ticket.Spec.InputPath) }
            : await Uploads.MaterializeAsync(ticket.Spec, grains, hostOptions.Value.DataDirectory, slot.Token);

        // The cores are shared by the jobs running here when this one starts.
        var cores = Math.Max(1, Environment.ProcessorCount / Math.Max(1, _running.Count));
        // A slow computation is not a dead silo: its timeouts are not retried, which would only add load.
        var runner = new JobRunner(backends, hostOptions.Value, async (backend, fingerprint, gpu, ct) => Backends.BackendGrain.Unflatten(
            await ClusterCalls.RetryAsync(grains.GetGrain<IBackendGrain>(IBackendGrain.KeyFor(backend, fingerprint, gpu)).ComputeMetrics, ClusterCalls.DefaultWindow, ct, retryTimeouts: false)), cores);
        using var reporting = CancellationTokenSource.CreateLinkedTokenSource(slot.Token);
        var reporter = ReportAsync(job, slot, ticket.Attempt, reporting.Token);
        try
        {
            var run = await Task.Run(() => runner.RunAsync(slot.JobId, spec, ticket.Route, slot.Token,
                p => slot.Progress = new JobProgress(p.Algorithm, p.Size, p.Evaluations, p.BestFitness, p.Fraction)), slot.Token);
            if (ticket.Route.LogPerformance)
            {
                foreach (var timings in new[] { run.Primary, run.Secondary }.OfType<BackendTimings>())
                {
                    LogPerformance(slot.JobId, timings.Backend, timings.Ingest, timings.Load, timings.Search, timings.Metrics, timings.Total);
                }
            }

            return new JobEnd(JobState.Completed, run.Result, run.Report, BackendSeconds: run.Primary.BackendSeconds);
        }
        finally
        {
            await reporting.CancelAsync();
            await reporter;
        }
    }

    /// <summary>Sends the run's progress to its job every second; an answer to stop (cancelled, or superseded by another attempt) stops the run.</summary>
    private static async Task ReportAsync(IJobGrain job, Slot slot, int attempt, CancellationToken cancellation)
    {
        while (!cancellation.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ReportEvery, cancellation);
                if (!await job.Report(attempt, slot.Progress))
                {
                    slot.Stop(StopReason.Cancelled);
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (ClusterCalls.IsTransient(e))
            {
                // The job's silo is going or gone: the next report finds it again.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job slots of {Silo}: {Slots} at once, leases of {Lease} s")]
    private partial void LogStarting(string silo, int slots, double lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job slots of {Silo} stopped: {Count} jobs handed back to the queue")]
    private partial void LogHandedBack(string silo, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job slots of {Silo} could not hand their jobs back ({Reason}); their leases lapse instead")]
    private partial void LogHandBackFailed(string silo, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job slots of {Silo}: runs still going {Seconds} s after stopping: {Jobs}")]
    private partial void LogStopSlow(string silo, double seconds, string jobs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job slots of {Silo}: the cluster store failed ({Reason}); retrying")]
    private partial void LogStoreFailed(string silo, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job slots of {Silo}: released {Count} jobs held by {Dead}, declared dead")]
    private partial void LogReleasedDead(string silo, string dead, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} could not run on {Silo} ({Reason}); it runs again within {Lease} s")]
    private partial void LogRunFailed(string jobId, string silo, double lease, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backend performance of job {JobId} on {Backend}: ingest {Ingest:F3} s, load {Load:F3} s, search {Search:F3} s, metrics {Metrics:F3} s, total {Total:F3} s")]
    private partial void LogPerformance(string jobId, string backend, double ingest, double load, double search, double metrics, double total);

    private enum StopReason
    {
        None,
        Cancelled,
        Lost,
        HandBack,
    }

    /// <summary>One running job: its cancellation, why it was stopped, the latest progress of its search.</summary>
    private sealed class Slot(string jobId) : IDisposable
    {
        private readonly CancellationTokenSource _cancellation = new();

        public string JobId { get; } = jobId;

        public Task Task { get; set; } = Task.CompletedTask;

        public CancellationToken Token => _cancellation.Token;

        public StopReason Reason { get; private set; }

        public JobProgress? Progress { get; set; }

        public void Stop(StopReason reason)
        {
            if (Reason == StopReason.None)
            {
                Reason = reason;
                try
                {
                    _cancellation.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        public void Dispose() => _cancellation.Dispose();
    }
}
