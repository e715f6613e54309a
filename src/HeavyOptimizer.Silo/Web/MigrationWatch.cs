using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Jobs;
using HeavyOptimizer.Grains.Observability;
using HeavyOptimizer.Grains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeavyOptimizer.Silo.Web;

/// <summary>One point of the page's charts: the controller's window figures per backend at a moment.</summary>
public sealed record MigrationSample(DateTimeOffset At, long JobsRecorded, int Traffic, string Phase, double? MatchRate, int Waiting, int Running,
    IReadOnlyList<BackendStats> Backends);

/// <summary>What the silo last learnt of a backend's health.</summary>
public sealed record BackendHealthSample(string Backend, bool Healthy, string Detail, DateTimeOffset At);

/// <summary>
/// What the migration page, <c>/api/</c>, <c>/readyz</c> and the metrics gauges show, kept fresh by this silo: the
/// controller's status every <see cref="Interval"/> (with a history of samples for the charts, the latest
/// <see cref="HistoryLimit"/>), the recent failed jobs, and this silo's own probe of each backend every
/// <see cref="HealthInterval"/>, alerting when one stops (P2) or both do (P1: nothing can run).
/// </summary>
public sealed partial class MigrationWatch(IGrainFactory grains, ClusterStore store, IBackendProvider backends, Alerts alerts, TimeProvider time, ILogger<MigrationWatch> logger)
    : BackgroundService
{
    /// <summary>How often the controller's status is read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>How often this silo probes its backends.</summary>
    public static readonly TimeSpan HealthInterval = TimeSpan.FromSeconds(30);

    /// <summary>How often the failed jobs of the last day are read.</summary>
    public static readonly TimeSpan FailureInterval = TimeSpan.FromSeconds(10);

    /// <summary>Samples kept for the charts (an hour at <see cref="Interval"/>).</summary>
    public const int HistoryLimit = 1800;

    private readonly object _gate = new();
    private readonly LinkedList<MigrationSample> _history = new();
    private readonly Dictionary<string, BackendHealthSample> _health = new(StringComparer.Ordinal);
    private DateTimeOffset _lastHealthCheck = DateTimeOffset.MinValue;
    private DateTimeOffset _lastFailureRead = DateTimeOffset.MinValue;
    private bool _unreachable;

    /// <summary>The controller's latest status, or null before the first answer.</summary>
    public MigrationStatus? Status { get; private set; }

    /// <summary>When <see cref="Status"/> was read.</summary>
    public DateTimeOffset? StatusAt { get; private set; }

    /// <summary>Failed jobs of the last day, newest first (at most 20), read every <see cref="FailureInterval"/>.</summary>
    public IReadOnlyList<JobStatus> RecentFailures { get; private set; } = [];

    /// <summary>True when the controller answered within the last three intervals.</summary>
    public bool Fresh => StatusAt is { } at && time.GetUtcNow() - at < Interval * 3;

    /// <summary>The chart samples, oldest first.</summary>
    public IReadOnlyList<MigrationSample> History()
    {
        lock (_gate)
        {
            return [.. _history];
        }
    }

    /// <summary>This silo's latest backend probes.</summary>
    public IReadOnlyList<BackendHealthSample> BackendHealth()
    {
        lock (_gate)
        {
            return [.. _health.Values.OrderBy(h => h.Backend, StringComparer.Ordinal)];
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
                if (_unreachable)
                {
                    _unreachable = false;
                    LogReachable();
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Logged when it starts, not every interval.
                if (!_unreachable)
                {
                    _unreachable = true;
                    LogUnreachable(Core.Messages.OneLine(e.Message));
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task RefreshAsync(CancellationToken cancellation)
    {
        var status = await grains.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey).GetStatus(50);
        var now = time.GetUtcNow();
        if (now - _lastFailureRead >= FailureInterval)
        {
            _lastFailureRead = now;
            var failures = await store.ListJobsAsync(now.AddDays(-1), now.AddMinutes(1), JobState.Failed, cancellation: cancellation);
            RecentFailures = [.. failures.OrderByDescending(f => f.FinishedAt ?? f.SubmittedAt).Take(20)];
        }

        var sample = new MigrationSample(now, status.JobsRecorded, status.Config.TrafficPercentParquet, MigrationPhases.Name(status.Config.Phase), status.MatchRate,
            status.Queue?.Waiting ?? 0, status.Queue?.Running.Values.Sum() ?? 0, status.Backends);
        lock (_gate)
        {
            _history.AddLast(sample);
            while (_history.Count > HistoryLimit)
            {
                _history.RemoveFirst();
            }
        }

        (Status, StatusAt) = (status, now);
        HoptInstruments.Observe(status);
        if (now - _lastHealthCheck >= HealthInterval)
        {
            _lastHealthCheck = now;
            await ProbeBackendsAsync(now, cancellation);
        }
    }

    private async Task ProbeBackendsAsync(DateTimeOffset now, CancellationToken cancellation)
    {
        var probes = new List<BackendHealthSample>();
        foreach (var name in new[] { "heavydb", "parquet" })
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            limit.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                var health = await (await backends.GetAsync(name, limit.Token)).HealthAsync(limit.Token);
                probes.Add(new BackendHealthSample(name, health.Healthy, health.Detail, now));
            }
            catch (Exception e) when (!cancellation.IsCancellationRequested)
            {
                probes.Add(new BackendHealthSample(name, false, Core.Messages.OneLine(e.Message), now));
            }
        }

        List<BackendHealthSample> fell;
        lock (_gate)
        {
            fell = probes.Where(p => !p.Healthy && (!_health.TryGetValue(p.Backend, out var was) || was.Healthy)).ToList();
            foreach (var probe in probes)
            {
                _health[probe.Backend] = probe;
            }
        }

        var down = probes.Count(p => !p.Healthy);
        foreach (var probe in fell)
        {
            alerts.Raise("backend_unhealthy", down == probes.Count ? AlertSeverity.P1 : AlertSeverity.P2,
                down == probes.Count ? $"every backend is down on this silo, {probe.Backend}: {probe.Detail}" : $"backend {probe.Backend} is down on this silo: {probe.Detail}",
                new Dictionary<string, string> { ["backend"] = probe.Backend, ["down"] = string.Join(',', probes.Where(p => !p.Healthy).Select(p => p.Backend)) });
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The migration page reads the controller's status again")]
    private partial void LogReachable();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The migration page could not read the controller's status: {Reason}")]
    private partial void LogUnreachable(string reason);
}
