using System.CommandLine;
using System.Text.Json;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Client;
using HeavyOptimizer.Core.Output;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// <c>hopt verify</c>: every completed job's run directory against its manifest (checked from this machine, which must
/// see the output root), and every dataset the backends store read back through their own checks (on the silo that
/// answers). Reports missing, incomplete and corrupted; <c>--replay</c> replays the jobs whose output is bad.
/// Exits 0 when all is sound, 1 when something is not.
/// </summary>
internal static class VerifyCommand
{
    /// <summary>What a run directory's problem is: missing (gone), incomplete (no manifest, or a file it lists gone), corrupted (a file differs from its hash).</summary>
    public static string Classify(string? runDirectory, string problem) =>
        runDirectory is null || !Directory.Exists(runDirectory) ? "missing"
        : problem.Contains("does not match", StringComparison.Ordinal) ? "corrupted"
        : "incomplete";

    public static Command Create(Func<IHeavyOptimizerClient, JobStatus, CancellationToken, Task<JobStatus>> replay)
    {
        var since = new Option<DateOnly?>("--since") { Description = "First UTC day of jobs to check (default today)" };
        var again = new Option<bool>("--replay") { Description = "Replay the jobs whose output is missing, incomplete or corrupted" };
        return ClusterCommands.ClusterCommand("verify", "Check completed jobs' outputs against their manifests and stored datasets against their checksums", [since, again], async (parse, client, json, ct) =>
        {
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            var bad = new List<(JobStatus Job, string Kind, string Problem)>();
            var checkedRuns = 0;
            for (var day = parse.GetValue(since) ?? today; day <= today; day = day.AddDays(1))
            {
                foreach (var job in await client.JobsAsync(day, JobState.Completed, ct))
                {
                    checkedRuns++;
                    var run = job.Result?.RunDirectory;
                    var problem = run is null ? "no run directory recorded" : !Directory.Exists(run) ? $"{run}: no such directory" : RunWriter.Verify(run, out var why) ? null : why;
                    if (problem is not null)
                    {
                        bad.Add((job, Classify(run, problem), problem));
                    }
                }
            }

            var datasets = await client.Index.VerifyDatasets();
            var replayed = new List<string>();
            var before = bad.Where(b => b.Job.Replays.Count > 0).Select(b => $"{b.Job.JobId} (as {b.Job.Replays[^1]})").ToList();
            if (parse.GetValue(again))
            {
                // A job replayed before is not replayed again (its replay is what to look at): a scheduled verify --replay resubmits nothing twice.
                foreach (var (job, _, _) in bad.Where(b => b.Job.Replays.Count == 0))
                {
                    replayed.Add((await replay(client, job, ct)).JobId);
                }
            }

            var sound = bad.Count == 0 && datasets.All(d => d.Ok);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    runs_checked = checkedRuns,
                    runs = bad.Select(b => new { job_id = b.Job.JobId, kind = b.Kind, problem = b.Problem, run_directory = b.Job.Result?.RunDirectory }),
                    datasets,
                    replayed,
                    replayed_before = before,
                    sound,
                }, ClusterCommands.Json));
            }
            else
            {
                foreach (var (job, kind, problem) in bad)
                {
                    Console.WriteLine($"{kind}: {job.JobId}: {problem}");
                }

                foreach (var d in datasets.Where(d => !d.Ok))
                {
                    Console.WriteLine($"corrupted dataset: {d.Backend} {d.Fingerprint} ({d.Source}): {d.Detail}");
                }

                Console.WriteLine($"{checkedRuns} completed runs checked: {bad.Count(b => b.Kind == "missing")} missing, {bad.Count(b => b.Kind == "incomplete")} incomplete, " +
                                  $"{bad.Count(b => b.Kind == "corrupted")} corrupted; {datasets.Count(d => d.Ok)} of {datasets.Count} stored datasets sound" +
                                  $"{(replayed.Count > 0 ? $"; replayed as {string.Join(", ", replayed)}" : string.Empty)}" +
                                  $"{(before.Count > 0 ? $"; replayed before, not again: {string.Join(", ", before)}" : string.Empty)}");
            }

            return sound ? ExitCodes.Success : ExitCodes.Failure;
        });
    }
}
