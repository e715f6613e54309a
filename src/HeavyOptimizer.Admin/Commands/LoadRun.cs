using System.Diagnostics;
using System.Globalization;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Client;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// A load run's history, from the client's side: every job submitted, when it was acknowledged, how it ended as first
/// observed, and whether it ever changed after that (finished twice). The summary counts them and the latencies.
/// </summary>
internal sealed class LoadRun(IHeavyOptimizerClient client, JobSpec spec, string prefix, int jobs, int concurrency, TimeSpan timeout)
{
    private readonly List<Entry> _entries = [];

    /// <summary>Runs the load: at most <paramref name="concurrency"/> jobs in flight, each followed to its end.</summary>
    public async Task<LoadSummary> RunAsync(CancellationToken cancellation)
    {
        var recordedBefore = await Recorded(cancellation);
        var clock = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(concurrency);
        var runs = new List<Task>();
        for (var i = 0; i < jobs; i++)
        {
            await gate.WaitAsync(cancellation);
            var entry = new Entry($"{prefix}{i:D6}");
            _entries.Add(entry);
            runs.Add(Task.Run(async () =>
            {
                try
                {
                    await FollowAsync(entry, cancellation);
                }
                finally
                {
                    gate.Release();
                }
            }, cancellation));
        }

        await Task.WhenAll(runs);
        var elapsed = clock.Elapsed;
        // Finished twice: a job whose end changed after it was first seen finished (read again once all are done).
        foreach (var entry in _entries.Where(e => e.End is not null))
        {
            var again = await client.GetAsync(entry.JobId, cancellation);
            entry.Duplicated = again is null || again.FinishedAt != entry.End!.FinishedAt || again.State != entry.End.State || again.Result?.RunDirectory != entry.End.Result?.RunDirectory;
        }

        return Summarise(elapsed, await Recorded(cancellation) - recordedBefore);
    }

    private async Task FollowAsync(Entry entry, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await client.SubmitAsync(entry.JobId, spec, cancellation);
            entry.Acknowledged = true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            entry.Refusal = ExitCodes.OneLine(e.Message);
            return;
        }

        var deadline = started + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            JobStatus? status = null;
            try
            {
                status = await client.GetAsync(entry.JobId, cancellation);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A silo going away: the client rides it out; the job is only lost if it never finishes.
            }

            if (status is { IsFinished: true })
            {
                entry.End = status;
                entry.Latency = Stopwatch.GetElapsedTime(started);
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellation);
        }
    }

    private async Task<long?> Recorded(CancellationToken cancellation)
    {
        try
        {
            return (await client.Controller.GetStatus(0)).JobsRecorded;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }

    private LoadSummary Summarise(TimeSpan elapsed, long? recorded)
    {
        var ended = _entries.Where(e => e.End is not null).ToList();
        var latencies = ended.Select(e => e.Latency.TotalSeconds).Order().ToArray();
        return new LoadSummary
        {
            Jobs = _entries.Count,
            Acknowledged = _entries.Count(e => e.Acknowledged),
            NotAcknowledged = _entries.Count(e => !e.Acknowledged),
            Completed = ended.Count(e => e.End!.State == JobState.Completed),
            Failed = ended.Where(e => e.End!.State == JobState.Failed).GroupBy(e => (e.End!.Cause ?? FailureCause.Internal).ToString().ToLowerInvariant())
                .ToDictionary(g => g.Key, g => g.Count()),
            Cancelled = ended.Count(e => e.End!.State == JobState.Cancelled),
            Lost = _entries.Where(e => e.Acknowledged && e.End is null).Select(e => e.JobId).ToList(),
            Duplicated = _entries.Where(e => e.Duplicated).Select(e => e.JobId).ToList(),
            Refusals = _entries.Where(e => e.Refusal is not null).Select(e => $"{e.JobId}: {e.Refusal}").Take(5).ToList(),
            P50Seconds = Percentile(latencies, 0.50),
            P95Seconds = Percentile(latencies, 0.95),
            P99Seconds = Percentile(latencies, 0.99),
            Seconds = elapsed.TotalSeconds,
            JobsPerSecond = ended.Count / Math.Max(elapsed.TotalSeconds, 1e-9),
            OutcomesRecorded = recorded,
        };
    }

    /// <summary>The nearest-rank percentile of sorted values (0 when there are none).</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private sealed class Entry(string jobId)
    {
        public string JobId { get; } = jobId;

        public bool Acknowledged { get; set; }

        public string? Refusal { get; set; }

        public JobStatus? End { get; set; }

        public TimeSpan Latency { get; set; }

        public bool Duplicated { get; set; }
    }
}

/// <summary>What <c>hopt load</c> reports.</summary>
internal sealed record LoadSummary
{
    public int Jobs { get; init; }

    public int Acknowledged { get; init; }

    public int NotAcknowledged { get; init; }

    public int Completed { get; init; }

    public IReadOnlyDictionary<string, int> Failed { get; init; } = new Dictionary<string, int>();

    public int Cancelled { get; init; }

    public IReadOnlyList<string> Lost { get; init; } = [];

    public IReadOnlyList<string> Duplicated { get; init; } = [];

    public IReadOnlyList<string> Refusals { get; init; } = [];

    public double P50Seconds { get; init; }

    public double P95Seconds { get; init; }

    public double P99Seconds { get; init; }

    public double Seconds { get; init; }

    public double JobsPerSecond { get; init; }

    /// <summary>Outcomes the controller recorded during the run (all of the cluster's jobs, not only these); null when it could not be read.</summary>
    public long? OutcomesRecorded { get; init; }

    public void Print(TextWriter output)
    {
        var failed = Failed.Count == 0 ? "0" : $"{Failed.Values.Sum()} ({string.Join(", ", Failed.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"))})";
        output.WriteLine($"load: {Jobs} jobs: acknowledged {Acknowledged}, completed {Completed}, failed {failed}, cancelled {Cancelled}, lost {Lost.Count}, duplicated {Duplicated.Count}, not acknowledged {NotAcknowledged}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  latency (submit to observed end) p50 {P50Seconds:F2} s, p95 {P95Seconds:F2} s, p99 {P99Seconds:F2} s; {JobsPerSecond:F2} jobs/s over {Seconds:F1} s"));
        output.WriteLine($"  outcomes the controller recorded meanwhile (whole cluster): {(OutcomesRecorded is { } n ? n.ToString(CultureInfo.InvariantCulture) : "unknown")}");
        foreach (var (what, ids) in new[] { ("lost", Lost), ("duplicated", Duplicated) })
        {
            if (ids.Count > 0)
            {
                output.WriteLine($"  {what}: {string.Join(", ", ids.Take(10))}{(ids.Count > 10 ? ", ..." : string.Empty)}");
            }
        }

        foreach (var refusal in Refusals)
        {
            output.WriteLine($"  not acknowledged: {refusal}");
        }
    }
}
