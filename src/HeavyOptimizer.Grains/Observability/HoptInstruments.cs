using System.Diagnostics.Metrics;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Observability;

/// <summary>
/// Every instrument the Heavy Optimizer reports, in one meter (<see cref="MeterName"/>), exported by each silo in
/// Prometheus format at <c>/metrics</c> (names there: <c>hopt_jobs_total</c>, <c>hopt_job_duration_seconds</c>, ...).
/// Job figures are counted where a job ends, on the silo that ran it; the gauges read the migration state this silo
/// last saw (<see cref="Observe"/>).
/// </summary>
public static class HoptInstruments
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "HeavyOptimizer";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Jobs = Meter.CreateCounter<long>("hopt.jobs", "{job}", "Jobs finished, by backend, state (completed, failed) and failure cause");

    private static readonly Histogram<double> Durations = Meter.CreateHistogram<double>("hopt.job.duration", "s", "Wall time of finished jobs, by backend",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800] });

    private static readonly Counter<long> Comparisons = Meter.CreateCounter<long>("hopt.consistency.comparisons", "{comparison}", "Dual-write comparisons, by result (match, mismatch)");

    private static MigrationStatus? _status;

    static HoptInstruments()
    {
        Meter.CreateObservableGauge("hopt.migration.phase", () => _status is { } s ? [new Measurement<int>((int)s.Config.Phase, new KeyValuePair<string, object?>("phase", MigrationPhases.Name(s.Config.Phase)))] : Array.Empty<Measurement<int>>(),
            description: "Migration phase: 0 heavydb_only, 1 dual_write, 2 cut_over, 3 parquet_only");
        Meter.CreateObservableGauge("hopt.migration.traffic", () => _status is { } s ? [new Measurement<int>(s.Config.TrafficPercentParquet)] : Array.Empty<Measurement<int>>(),
            "%", "Percentage of new jobs routed to Parquet");
        Meter.CreateObservableGauge("hopt.migration.match_rate", () => _status?.MatchRate is { } rate ? [new Measurement<double>(rate)] : Array.Empty<Measurement<double>>(),
            description: "Share of compared dual-write jobs that matched, over the window");
        Meter.CreateObservableGauge("hopt.queue.length", () => _status?.Queue is { } q ? [new Measurement<long>(q.Waiting)] : Array.Empty<Measurement<long>>(),
            "{job}", "Jobs waiting in the cluster's queue");
        Meter.CreateObservableGauge("hopt.jobs.running", () => _status?.Queue is { } q ? [.. q.Running.Select(r => new Measurement<long>(r.Value, new KeyValuePair<string, object?>("silo", r.Key)))] : Array.Empty<Measurement<long>>(),
            "{job}", "Jobs running, by silo");
    }

    /// <summary>Counts a finished job (and its comparison, when it had one).</summary>
    public static void JobFinished(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var cause = outcome.Succeeded ? "none" : (outcome.Cause ?? FailureCause.Internal).ToString().ToLowerInvariant();
        Jobs.Add(1, new("backend", outcome.Backend), new("state", outcome.Succeeded ? "completed" : "failed"), new("cause", cause));
        Durations.Record(outcome.Seconds, new KeyValuePair<string, object?>("backend", outcome.Backend));
        if (outcome.ConsistencyPassed is { } passed)
        {
            Comparisons.Add(1, new KeyValuePair<string, object?>("result", passed ? "match" : "mismatch"));
        }
    }

    /// <summary>The migration state the gauges report from now on.</summary>
    public static void Observe(MigrationStatus status) => _status = status;
}
