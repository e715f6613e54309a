using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Client;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// <c>hopt validate</c>: backfill validation. Completed jobs are run again in shadow (new job ids; the originals and
/// their results are never touched) on both backends, the candidate compared with the other exactly as dual-write
/// compares, and reported per job and in total. The controller counts them as backfill comparisons, apart from live jobs.
/// </summary>
internal static partial class ClusterCommands
{
    private static Command Validate()
    {
        var recent = new Option<int?>("--recent") { Description = "The K most recently submitted completed jobs (of the last 30 days)" };
        var since = new Option<DateOnly?>("--since") { Description = "Every completed job submitted from this UTC day (yyyy-MM-dd) to today" };
        var backend = new Option<string>("--backend") { Description = "The candidate backend", DefaultValueFactory = _ => "parquet" };
        backend.AcceptOnlyFromAmong("parquet", "heavydb");
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for each shadow run", DefaultValueFactory = _ => 1800 };
        return ClusterCommand("validate", "Backfill validation: re-run completed jobs in shadow on the candidate backend and compare (exit 1 on any mismatch)",
            [recent, since, backend, timeout], async (parse, client, json, ct) =>
            {
                if ((parse.GetValue(recent) is null) == (parse.GetValue(since) is null))
                {
                    throw new ArgumentException(parse.GetValue(recent) is null ? "validate needs --recent K or --since DAY" : "--recent and --since: choose one");
                }

                if (parse.GetValue(timeout) is < 1 or > 86_400)
                {
                    throw new ArgumentException($"--timeout {parse.GetValue(timeout)}: 1..86400 seconds");
                }

                var config = await client.Controller.GetConfig();
                if (config.DisabledBackends.Count > 0)
                {
                    throw new MigrationGuardException($"backend {string.Join(", ", config.DisabledBackends)} is disabled (hopt backend enable): a backfill runs each job on both backends");
                }

                if (parse.GetValue(recent) is < 1 or > Grains.Migration.MigrationPolicy.BackfillJobsKept)
                {
                    throw new ArgumentException($"--recent {parse.GetValue(recent)}: 1..{Grains.Migration.MigrationPolicy.BackfillJobsKept} jobs (the controller keeps that many verdicts)");
                }

                var today = DateOnly.FromDateTime(DateTime.UtcNow);
                var first = parse.GetValue(since) ?? today.AddDays(-30);
                if (first > today)
                {
                    throw new ArgumentException($"--since {first:yyyy-MM-dd} is in the future");
                }

                var completed = new List<JobStatus>();
                for (var day = first; day <= today; day = day.AddDays(1))
                {
                    completed.AddRange((await client.JobsAsync(day, JobState.Completed, ct)).Where(j => j.Spec.ShadowOf is null));
                }

                var chosen = (parse.GetValue(recent) is { } k ? completed.OrderByDescending(j => j.SubmittedAt).Take(k).Reverse() : completed).ToList();
                var stamp = DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
                var shadows = new List<(JobStatus Original, string Id)>();
                foreach (var original in chosen)
                {
                    var suffix = $"-validate-{stamp}";
                    var id = original.JobId[..Math.Min(original.JobId.Length, 128 - suffix.Length)] + suffix;
                    await client.SubmitAsync(id, original.Spec with { ShadowOf = original.JobId, BackendOverride = parse.GetValue(backend), ReplayOf = null }, ct);
                    shadows.Add((original, id));
                }

                var results = new List<ValidationResult>();
                foreach (var (original, id) in shadows)
                {
                    var done = await WaitAsync(client, id, TimeSpan.FromSeconds(parse.GetValue(timeout)), ct);
                    var report = done?.Consistency;
                    var verdict = done is null ? "timed out" : done.State != JobState.Completed ? $"failed ({done.Cause?.ToString().ToLowerInvariant()}: {done.Error})"
                        : report?.Passed == true ? "match" : report?.Passed == false ? "MISMATCH" : "not compared";
                    results.Add(new ValidationResult(original.JobId, id, verdict, report?.Comparisons ?? [], report?.Problems ?? []));
                    if (!json)
                    {
                        Console.WriteLine($"{original.JobId} -> {id}: {verdict}");
                        foreach (var c in report?.Comparisons ?? [])
                        {
                            Console.WriteLine($"  {c.Name}: {ConsistencyReport.VerdictName(c.Verdict)} ({c.Detail})");
                        }
                    }
                }

                var matched = results.Count(r => r.Verdict == "match");
                var mismatched = results.Count(r => r.Verdict == "MISMATCH");
                var summary = $"validated {results.Count} completed job(s) on {parse.GetValue(backend)} in shadow: {matched} matched, {mismatched} mismatched, {results.Count - matched - mismatched} failed or not compared";
                Console.WriteLine(json ? JsonSerializer.Serialize(new { summary, matched, mismatched, jobs = results }, Json) : summary);
                return matched == results.Count ? ExitCodes.Success : ExitCodes.Failure;
            });
    }

    /// <summary>The job once finished (its watch ends), or null when it has not within <paramref name="timeout"/>.</summary>
    private static async Task<JobStatus?> WaitAsync(IHeavyOptimizerClient client, string id, TimeSpan timeout, CancellationToken cancellation)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        limit.CancelAfter(timeout);
        JobStatus? last = null;
        try
        {
            await foreach (var change in client.WatchAsync(id, limit.Token))
            {
                last = change;
            }
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return null;
        }

        return last is { State: JobState.Completed or JobState.Failed or JobState.Cancelled } ? last : null;
    }

    /// <summary>One shadow run's verdict and what was compared.</summary>
    private sealed record ValidationResult(string Job, string Shadow, string Verdict, IReadOnlyList<Comparison> Comparisons, IReadOnlyList<string> Problems);
}
