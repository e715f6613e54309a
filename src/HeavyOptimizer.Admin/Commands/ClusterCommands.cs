using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Client;
using HeavyOptimizer.Core.Algorithms;
using HeavyOptimizer.Core.Output;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>The commands that talk to a running cluster: jobs and the migration controller.</summary>
internal static partial class ClusterCommands
{
    internal static readonly JsonSerializerOptions Json = new(RunReport.JsonOptions)
    {
        Converters = { new PhaseConverter(), new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static IEnumerable<Command> Create()
    {
        yield return Submit();
        yield return Job();
        yield return Cancel();
        yield return Jobs();
        yield return Replay();
        yield return Phase();
        yield return Traffic();
        yield return DualWrite();
        yield return Validation();
        yield return Backend();
        yield return Checkpoint();
        yield return Rollback();
        yield return Config();
        yield return Status();
        yield return Audit();
        yield return Rollout();
        yield return Validate();
        yield return Load();
        yield return HealthCommand.Create();
        yield return Backup();
        yield return Restore();
        yield return VerifyCommand.Create((client, job, ct) => client.SubmitAsync(ReplayId(job.JobId), job.Spec with { ReplayOf = job.JobId }, ct));
    }

    private const string BackupFormat = "hopt-migration-backup/1";

    /// <summary>The migration state in one file: settings, checkpoints, last-known-good, and the whole audit log.</summary>
    private static Command Backup()
    {
        var output = new Option<string>("--out") { Description = "The backup file to write (not replaced unless --replace)", Required = true };
        var replace = new Option<bool>("--replace") { Description = "Replace an existing file" };
        return ClusterCommand("backup", "Write the migration settings, checkpoints, last-known-good and audit log to one file", [output, replace], async (parse, client, json, ct) =>
        {
            var path = LocalFile(parse.GetValue(output)!, "a backup file");
            if (File.Exists(path) && !parse.GetValue(replace))
            {
                throw new ArgumentException($"{path} exists: choose another name, or --replace");
            }

            var state = await client.Controller.Backup();
            var audit = new List<AuditEntry>();
            for (IReadOnlyList<AuditEntry> page; (page = await client.Controller.GetAudit(audit.LastOrDefault()?.Sequence ?? 0, null, 10_000)).Count > 0;)
            {
                audit.AddRange(page);
            }

            var node = new JsonObject { ["format"] = BackupFormat, ["state"] = JsonSerializer.SerializeToNode(state, Json), ["audit"] = JsonSerializer.SerializeToNode(audit, Json) };
            var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
            await File.WriteAllTextAsync(temporary, node.ToJsonString(Json), ct);
            File.Move(temporary, path, overwrite: true);
            Console.WriteLine($"backup of config v{state.Config.Version} ({MigrationPhases.Name(state.Config.Phase)}), {state.Checkpoints.Count} checkpoints, " +
                              $"{(state.LastKnownGood is null ? "no" : "a")} last-known-good, {audit.Count} audit entries -> {path}");
            return ExitCodes.Success;
        });
    }

    /// <summary>Restores a backup's settings, checkpoints and last-known-good in one audited step; the audit log is appended to.</summary>
    private static Command Restore()
    {
        var file = new Argument<string>("file") { Description = "A file hopt backup wrote" };
        var force = new Option<bool>("--force") { Description = "Restore settings ahead of today's phase past its guard (audited as forced)" };
        return Change("restore", "Restore the migration settings and checkpoints from a backup (the audit log is kept and appended to)", [file, force], async (parse, c, who, why) =>
        {
            var path = LocalFile(parse.GetValue(file)!, "a backup file");
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(await File.ReadAllTextAsync(path));
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"{path}: not a backup file ({ExitCodes.OneLine(e.Message)})", e);
            }

            if ((string?)node?["format"] != BackupFormat || node["state"]?.Deserialize<MigrationBackup>(Json) is not { Config: not null } backup)
            {
                throw new ArgumentException($"{path}: not a backup file of this version (format {BackupFormat})");
            }

            return await c.Restore(backup, parse.GetValue(force), who, why);
        });
    }

    /// <summary>
    /// A load generator for capacity planning and for the tests: submits --jobs jobs, at most --concurrency in flight,
    /// follows each to its end, and prints the history's summary (acknowledged, completed, failed by cause, lost,
    /// duplicated, latency percentiles, jobs/s). Exits 1 when a job was lost or finished twice, else 0.
    /// </summary>
    private static Command Load()
    {
        var input = new Option<string>("--input") { Description = "Strategy CSV every job reads: a path under the cluster's input roots, or a local file (uploaded once)", Required = true };
        var jobs = new Option<int>("--jobs") { Description = "Jobs to submit (1..1000000)", Required = true };
        var concurrency = new Option<int>("--concurrency") { Description = "Jobs in flight at once (1..10000)", DefaultValueFactory = _ => 8 };
        var prefix = new Option<string?>("--job-prefix") { Description = "Job ids are PREFIX000000, PREFIX000001, ... (default load-<time>-); the same prefix again resubmits the same jobs (idempotent)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds a job may take from submission before it counts as lost", DefaultValueFactory = _ => 1800 };
        var search = new SearchOptions();
        var command = ClusterCommand("load", "Submit many jobs, follow them all, and report lost, duplicated, failures and latency", [input, jobs, concurrency, prefix, timeout], async (parse, client, json, ct) =>
        {
            var (count, inFlight, limit) = (parse.GetValue(jobs), parse.GetValue(concurrency), parse.GetValue(timeout));
            if (count is < 1 or > 1_000_000 || inFlight is < 1 or > 10_000 || limit < 1)
            {
                throw new ArgumentException($"--jobs {count} --concurrency {inFlight} --timeout {limit}: expected 1..1000000 jobs, 1..10000 in flight, a timeout of at least 1 s");
            }

            var first = parse.GetValue(prefix) ?? $"load-{DateTime.UtcNow:yyyyMMddHHmmss}-";
            Grains.Jobs.JobRequests.ValidateId($"{first}{count - 1:D6}");
            var path = LocalFile(parse.GetValue(input)!, "a CSV file");
            var spec = search.Read(parse, path);
            try
            {
                await client.CheckAsync($"{first}{0:D6}", spec, ct);
            }
            catch (InvalidJobException e) when (e.OutsideInputRoots)
            {
                spec = spec with { InputPath = await UploadAsync(client, path, ct) };
            }

            var summary = await new LoadRun(client, spec, first, count, inFlight, TimeSpan.FromSeconds(limit)).RunAsync(ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(summary, Json));
            }
            else
            {
                summary.Print(Console.Out);
            }

            return summary.Lost.Count > 0 || summary.Duplicated.Count > 0 ? ExitCodes.Failure : ExitCodes.Success;
        });
        search.AddTo(command);
        return command;
    }

    /// <summary>
    /// Submits a job with everything <c>hopt optimize</c> can ask for. The input is a path every silo can read under
    /// the cluster's input roots; a local file outside them is uploaded (this command reads it as its own user) unless
    /// --no-upload; --upload always uploads. With --wait: follows the job and exits as it ended (0 completed, 2 bad
    /// input, 1 other failure, 130 cancelled); Ctrl+C or SIGTERM stops watching, never the job.
    /// </summary>
    private static Command Submit()
    {
        var input = new Option<string>("--input") { Description = "Strategy CSV: a path under the cluster's input roots, or a local file (uploaded)", Required = true };
        var jobId = new Option<string?>("--job-id") { Description = "Job id, 1..128 of A-Z a-z 0-9 . _ - (default: a new one); resubmitting the same request is idempotent" };
        var wait = new Option<bool>("--wait") { Description = "Wait for the job to finish; exit as it ended" };
        var upload = new Option<bool>("--upload") { Description = "Always send the file to the cluster" };
        var noUpload = new Option<bool>("--no-upload") { Description = "Never upload: send the path as the silos see it (refused there when outside their input roots)" };
        var search = new SearchOptions();
        var command = ClusterCommand("submit", "Submit an optimisation job", [input, jobId, wait, upload, noUpload], async (parse, client, json, ct) =>
        {
            if (parse.GetValue(upload) && parse.GetValue(noUpload))
            {
                throw new ArgumentException("--upload and --no-upload: choose one");
            }

            var id = parse.GetValue(jobId) ?? $"job-{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..8]}";
            Grains.Jobs.JobRequests.ValidateId(id);
            var path = LocalFile(parse.GetValue(input)!, "a CSV file");
            var spec = search.Read(parse, parse.GetValue(upload) ? await UploadAsync(client, path, ct) : path);
            JobStatus status;
            try
            {
                status = await client.SubmitAsync(id, spec, ct);
            }
            catch (InvalidJobException e) when (e.OutsideInputRoots && !parse.GetValue(noUpload))
            {
                Console.Error.WriteLine($"hopt: {path} is outside the cluster's input roots: uploading it");
                status = await client.SubmitAsync(id, spec with { InputPath = await UploadAsync(client, path, ct) }, ct);
            }

            if (parse.GetValue(wait))
            {
                status = await FollowAsync(client, id, json, ct);
            }

            Print(status, json);
            return status.State switch
            {
                JobState.Failed when status.Cause == FailureCause.Input => ExitCodes.BadInput,
                JobState.Failed => ExitCodes.Failure,
                JobState.Cancelled => ExitCodes.Cancelled,
                _ => ExitCodes.Success,
            };
        });
        search.AddTo(command);
        return command;
    }

    /// <summary>The full path of a file the user named, or an error naming what it is instead (empty, a directory).</summary>
    private static string LocalFile(string given, string what)
    {
        if (string.IsNullOrWhiteSpace(given))
        {
            throw new ArgumentException($"an empty path where {what} was expected");
        }

        var path = Path.GetFullPath(given);
        return Directory.Exists(path) ? throw new ArgumentException($"{path} is a directory, not {what}") : path;
    }

    private static async Task<string> UploadAsync(IHeavyOptimizerClient client, string path, CancellationToken cancellation)
    {
        if (File.Exists(path) && !Grains.Jobs.InputRoots.IsRegularFile(path))
        {
            throw new ArgumentException($"{path} is not a regular file (a pipe or a device): it cannot be uploaded");
        }

        try
        {
            return await client.UploadAsync(path, cancellation);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ArgumentException($"{path}: cannot read it ({e.Message})", e);
        }
    }

    private static async Task<JobStatus> FollowAsync(IHeavyOptimizerClient client, string id, bool json, CancellationToken cancellation)
    {
        using var display = new ProgressDisplay(Console.Error);
        JobState? shown = null;
        JobStatus? last = null;
        await foreach (var change in client.WatchAsync(id, cancellation))
        {
            last = change;
            if (!json && change.State != shown)
            {
                display.Finish();
                Console.Error.WriteLine($"{id}: {change.State}");
                shown = change.State;
            }

            if (!json && change.Progress is { } p)
            {
                display.Report(new SearchProgress(p.Algorithm, p.Size, p.Evaluations, p.BestFitness, p.Fraction));
            }
        }

        return last ?? throw new InvalidOperationException($"no job {id}");
    }

    private static Command Job() => OneJob("job", "Show one job", (client, id, ct) => client.GetAsync(id, ct));

    private static Command Cancel() =>
        OneJob("cancel", "Ask a queued or running job to stop (a submitter may cancel only its own)", (client, id, ct) => client.CancelAsync(id, ct));

    /// <summary>A command on one job by id: <paramref name="act"/> answers the job as it then stands, or null when there is none.</summary>
    private static Command OneJob(string name, string description, Func<IHeavyOptimizerClient, string, CancellationToken, Task<JobStatus?>> act)
    {
        var id = new Argument<string>("id") { Description = "Job id" };
        return ClusterCommand(name, description, [id], async (parse, client, json, ct) =>
        {
            Grains.Jobs.JobRequests.ValidateId(parse.GetValue(id));
            var status = await act(client, parse.GetValue(id)!, ct);
            if (status is null)
            {
                Console.Error.WriteLine($"hopt: no job {parse.GetValue(id)}");
                return ExitCodes.Failure;
            }

            Print(status, json);
            return ExitCodes.Success;
        });
    }

    private static Command Jobs()
    {
        var state = new Option<JobState?>("--state") { Description = "Only jobs in this state" };
        var since = new Option<DateOnly?>("--since") { Description = "First UTC day (yyyy-MM-dd); default today" };
        return ClusterCommand("jobs", "List jobs by day and state", [state, since], async (parse, client, json, ct) =>
        {
            var jobs = await JobsSince(client, parse.GetValue(since), parse.GetValue(state), ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(jobs, Json));
            }
            else
            {
                foreach (var j in jobs)
                {
                    Console.WriteLine($"{j.JobId,-40} {j.State,-9} {j.Route?.Primary ?? "-",-8} {j.Result?.BestFitness.ToString("F4", CultureInfo.InvariantCulture) ?? (j.Error is { } e ? $"{Cause(j)}: {e}" : "")}");
                }
            }

            return ExitCodes.Success;
        });
    }

    private static async Task<List<JobStatus>> JobsSince(IHeavyOptimizerClient client, DateOnly? since, JobState? state, CancellationToken cancellation)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var jobs = new List<JobStatus>();
        for (var day = since ?? today; day <= today; day = day.AddDays(1))
        {
            jobs.AddRange(await client.JobsAsync(day, state, cancellation));
        }

        return jobs;
    }

    /// <summary>
    /// The legacy replay scripts as one command: failed jobs (not those that failed on their own input, unless
    /// --include-input-errors), jobs Running with no progress for some minutes, or completed jobs whose run directory is
    /// missing or fails its manifest check here (the gaps detect_and_replay_gaps.py looked for), resubmitted as new jobs
    /// with the same request, optionally on one backend, at most --count of them. A job already replayed, and a replay
    /// (its original's attempt), are skipped unless --again, so running it twice replays nothing twice. A job whose
    /// replay the cluster refuses (its input gone from the roots) is named and the others go on; the exit is then 2.
    /// --dry-run checks each replay exactly as the real run would, submitting nothing.
    /// </summary>
    private static Command Replay()
    {
        var failed = new Option<bool>("--failed") { Description = "Replay failed jobs" };
        var stuck = new Option<double?>("--stuck-minutes") { Description = "Replay jobs Running with no progress for this many minutes" };
        var missing = new Option<bool>("--missing-output") { Description = "Replay completed jobs whose run directory is missing or incomplete (checked on this machine)" };
        var inputErrors = new Option<bool>("--include-input-errors") { Description = "Also replay jobs that failed on their own input (a bad CSV fails the same way again unless it was fixed)" };
        var againOption = new Option<bool>("--again") { Description = "Replay jobs that were replayed before, and replays that failed" };
        var backend = new Option<string?>("--backend") { Description = "Run the replays on this backend only (heavydb or parquet)" };
        var count = new Option<int>("--count") { Description = "At most this many", DefaultValueFactory = _ => 10 };
        var since = new Option<DateOnly?>("--since") { Description = "First UTC day to look at (default today)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check and list what would be replayed, submit nothing" };
        return ClusterCommand("replay", "Resubmit failed, stuck or output-less jobs, optionally on one backend",
            [failed, stuck, missing, inputErrors, againOption, backend, count, since, dryRun], async (parse, client, json, ct) =>
        {
            if (!parse.GetValue(failed) && parse.GetValue(stuck) is null && !parse.GetValue(missing))
            {
                throw new ArgumentException("replay needs --failed, --stuck-minutes M and/or --missing-output");
            }

            if (parse.GetValue(count) < 1 || parse.GetValue(stuck) is <= 0)
            {
                throw new ArgumentException("--count and --stuck-minutes: positive numbers");
            }

            if (parse.GetValue(backend) is { } only && only is not ("heavydb" or "parquet"))
            {
                throw new ArgumentException($"--backend {only}: heavydb or parquet");
            }

            var candidates = new List<(JobStatus Job, string Why)>();
            if (parse.GetValue(failed))
            {
                candidates.AddRange((await JobsSince(client, parse.GetValue(since), JobState.Failed, ct))
                    .Where(j => j.Cause != FailureCause.Input || parse.GetValue(inputErrors))
                    .Select(j => (j, $"failed ({Cause(j)}): {j.Error}")));
            }

            if (parse.GetValue(stuck) is { } minutes)
            {
                foreach (var running in await JobsSince(client, parse.GetValue(since), JobState.Running, ct))
                {
                    // The registry says Running; the job itself says whether its run still moves.
                    var live = await client.GetAsync(running.JobId, ct) ?? running;
                    var last = live.LastProgressAt ?? live.StartedAt ?? live.SubmittedAt;
                    if (live.State == JobState.Running && DateTimeOffset.UtcNow - last > TimeSpan.FromMinutes(minutes))
                    {
                        candidates.Add((live, $"running, no progress since {last:u}"));
                    }
                }
            }

            if (parse.GetValue(missing))
            {
                candidates.AddRange((await JobsSince(client, parse.GetValue(since), JobState.Completed, ct))
                    .Where(j => j.Result is not { RunDirectory: var run } || !RunWriter.Verify(run, out _))
                    .Select(j => (j, $"completed, output missing or incomplete: {j.Result?.RunDirectory ?? "none recorded"}")));
            }

            // A job already replayed is done with unless --again; a replay is its original's attempt, so a failed
            // replay is not replayed by itself either (that would redo the same request on every run).
            var replayed = new List<JobStatus>();
            var refused = new List<string>();
            var dry = parse.GetValue(dryRun);
            var again = parse.GetValue(againOption);
            var skipped = candidates.Count(c => !again && (c.Job.Replays.Count > 0 || c.Job.Spec.ReplayOf is not null));
            foreach (var (original, why) in candidates.Where(c => again || c.Job.Replays.Count == 0 && c.Job.Spec.ReplayOf is null).Take(parse.GetValue(count)))
            {
                var spec = original.Spec with { BackendOverride = parse.GetValue(backend) ?? original.Spec.BackendOverride, ReplayOf = original.JobId };
                var id = ReplayId(original.JobId);
                try
                {
                    replayed.Add(dry ? await CheckedAsync(client, id, spec, original, ct) : await client.SubmitAsync(id, spec, ct));
                }
                catch (InvalidJobException e)
                {
                    refused.Add(original.JobId);
                    Console.Error.WriteLine($"hopt: cannot replay {original.JobId}: {ExitCodes.OneLine(e.Message)}");
                    continue;
                }

                if (!json)
                {
                    Console.WriteLine($"{(dry ? "would replay" : "replaying")} {original.JobId} ({why}) as {id}{(spec.BackendOverride is { } b ? $" on {b}" : "")}");
                }
            }

            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(replayed, Json));
            }
            else
            {
                Console.WriteLine($"{(dry ? "would replay" : "replayed")} {replayed.Count} job(s){(skipped > 0 ? $"; {skipped} already replayed (--again to replay them again)" : "")}" +
                                  $"{(refused.Count > 0 ? $"; {refused.Count} cannot be replayed as they stand: {string.Join(", ", refused)}" : "")}");
            }

            return refused.Count > 0 ? ExitCodes.BadInput : ExitCodes.Success;
        });
    }

    private static async Task<JobStatus> CheckedAsync(IHeavyOptimizerClient client, string id, JobSpec spec, JobStatus original, CancellationToken cancellation)
    {
        await client.CheckAsync(id, spec, cancellation);
        return original;
    }

    /// <summary>The id of a replay: the original's without any earlier replay suffix, plus the time to the millisecond.</summary>
    private static string ReplayId(string original)
    {
        var root = original.Split("-replay-")[0];
        var suffix = $"-replay-{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        return root[..Math.Min(root.Length, 128 - suffix.Length)] + suffix;
    }

    private static Command Phase()
    {
        var phase = new Argument<string>("phase") { Description = "heavydb_only | dual_write | cut_over | parquet_only" };
        var force = new Option<bool>("--force") { Description = "Override a guard or skip a phase (audited as forced)" };
        var backfill = new Option<bool>("--count-backfill") { Description = "cut_over's guard counts clean backfill comparisons (hopt validate) beside clean dual-write jobs (audited); a backfill mismatch refuses it" };
        return Change("phase", "Change the migration phase: one step forward when its guard holds, any step back", [phase, force, backfill],
            (parse, c, who, why) => c.SetPhase(ParsePhase(parse.GetValue(phase)!), parse.GetValue(force), who, why, parse.GetValue(backfill)));
    }

    private static Command Traffic()
    {
        var percent = new Argument<int>("percent") { Description = "Share of jobs routed to Parquet in cut_over, 0..100" };
        return Change("traffic", "Set the Parquet traffic percentage (cut_over only)", [percent], (parse, c, who, why) =>
            parse.GetValue(percent) is < 0 or > 100
                ? throw new ArgumentException($"traffic {parse.GetValue(percent)}: a percentage, 0..100")
                : c.SetTraffic(parse.GetValue(percent), who, why));
    }

    private static Command DualWrite()
    {
        var onOff = new Argument<string>("on|off");
        return Change("dual-write", "Turn dual-write on or off (cut_over only; dual_write always mirrors)", [onOff],
            (parse, c, who, why) => c.SetDualWrite(OnOff(parse.GetValue(onOff)!, "dual-write"), who, why));
    }

    private static Command Validation()
    {
        var onOff = new Argument<string>("on|off");
        var strict = new Option<string?>("--strict") { Description = "on: outputs bit for bit and backend metrics within 1e-12 of the engine's; off: within 1e-9" };
        return Change("validation", "Turn the comparison of dual-write jobs on or off, and its strict mode", [onOff, strict],
            (parse, c, who, why) => c.SetValidation(OnOff(parse.GetValue(onOff)!, "validation"),
                parse.GetValue(strict) is { } s ? OnOff(s, "--strict") : null, who, why));
    }

    private static Command Backend()
    {
        var action = new Argument<string>("disable|enable");
        var backend = new Argument<string>("heavydb|parquet");
        var force = new Option<bool>("--force") { Description = "Disable the one backend heavydb_only or parquet_only runs on (its jobs go to the other; audited as forced)" };
        return Change("backend", "Take a backend out of service for new jobs, or back in (the runbook's parquet_connector.disabled)", [action, backend, force],
            (parse, c, who, why) => c.SetBackendDisabled(parse.GetValue(backend)!, parse.GetValue(action) switch
            {
                "disable" => true,
                "enable" => false,
                var other => throw new ArgumentException($"backend '{other}': disable or enable"),
            }, parse.GetValue(force), who, why));
    }

    private static Command Checkpoint()
    {
        var name = new Argument<string>("name");
        var replace = new Option<bool>("--replace") { Description = "Overwrite a checkpoint of that name (audited)" };
        return Change("checkpoint", "Save the migration settings under a name", [name, replace],
            (parse, c, who, why) => c.Checkpoint(parse.GetValue(name)!, parse.GetValue(replace), who, why));
    }

    private static Command Rollback()
    {
        var emergency = new Option<bool>("--emergency") { Description = "heavydb_only, dual-write off, traffic 0, in one step" };
        var to = new Option<string?>("--to") { Description = "A checkpoint name, or last-known-good" };
        var preset = new Option<string?>("--checkpoint") { Description = "The legacy runbook's rollback checkpoint: 1.1, 1.2, 1.3, 2.1, 2.2, 2.3, 3.1 or 3.2 (see --list)" };
        var list = new Option<bool>("--list") { Description = "List the runbook checkpoints and what each sets; change nothing" };
        var force = new Option<bool>("--force") { Description = "With --to or --checkpoint: allow settings ahead of today's phase past its guard (audited as forced)" };
        var reason = new Option<string?>("--reason") { Description = "Why (recorded in the audit log); required unless --list" };
        var who = WhoOption();
        return ClusterCommand("rollback", "Roll the migration settings back: --emergency, --to NAME|last-known-good, --checkpoint 1.1..3.2", [emergency, to, preset, list, force, reason, who], async (parse, client, json, ct) =>
        {
            if (parse.GetValue(list))
            {
                foreach (var p in Grains.Migration.RunbookCheckpoints.All)
                {
                    Console.WriteLine($"{p.Id}  {p.Title}: {p.Effect}");
                }

                return ExitCodes.Success;
            }

            var why = parse.GetValue(reason) is { Length: > 0 } r ? r : throw new ArgumentException("--reason is required: why (recorded in the audit log)");
            var (c, by) = (client.Controller, parse.GetValue(who)!);
            var chosen = new[] { parse.GetValue(emergency), parse.GetValue(to) is not null, parse.GetValue(preset) is not null }.Count(x => x);
            if (chosen != 1)
            {
                throw new ArgumentException(chosen == 0 ? "rollback needs --emergency, --to NAME|last-known-good or --checkpoint ID" : "--emergency, --to and --checkpoint: choose one");
            }

            if (parse.GetValue(emergency) && parse.GetValue(force))
            {
                throw new ArgumentException("--force goes with --to or --checkpoint; an emergency rollback is never refused");
            }

            var entry = parse.GetValue(emergency) ? await c.EmergencyRollback(by, why)
                : parse.GetValue(to) is { } name ? await c.RollbackTo(name, parse.GetValue(force), by, why)
                : await c.RollbackToPreset(parse.GetValue(preset)!, parse.GetValue(force), by, why);
            PrintEntry(entry, json);
            return ExitCodes.Success;
        });
    }

    private static Command Config()
    {
        var export = ClusterCommand("export", "Print the migration settings as production_config.ini", [], async (_, client, _, ct) =>
        {
            Console.Write(Grains.Migration.MigrationIni.Export(await client.Controller.GetConfig()));
            return ExitCodes.Success;
        });
        var file = new Argument<string>("file") { Description = "An ini file in the operators' production_config.ini shape" };
        var force = new Option<bool>("--force") { Description = "Override a phase guard or skip a phase (audited as forced)" };
        var allowUnknown = new Option<bool>("--allow-unknown") { Description = "Skip unknown keys and sections instead of refusing the file" };
        var import = Change("import", "Apply an ini file as one target state: all of it, or nothing", [file, force, allowUnknown], async (parse, c, who, why) =>
        {
            var text = await File.ReadAllTextAsync(LocalFile(parse.GetValue(file)!, "an ini file"));
            var outcome = await c.ImportIni(text, parse.GetValue(force), parse.GetValue(allowUnknown), who, why);
            foreach (var note in outcome.Notes)
            {
                Console.Error.WriteLine($"hopt: note: {note}");
            }

            return outcome.Entry;
        });
        return new Command("config", "The migration settings in the operators' ini shape") { export, import };
    }

    /// <summary>
    /// The migration at a glance; with --watch S, redrawn every S seconds until Ctrl+C or SIGTERM: the live migration
    /// dashboard the legacy migration_dashboard.py printed (phase, backends, today's jobs by state, the latest run).
    /// </summary>
    private static Command Status()
    {
        var watch = new Option<int?>("--watch") { Description = "Redraw every this many seconds until Ctrl+C (the live migration dashboard)" };
        return ClusterCommand("status", "Phase, traffic, per-backend jobs, error rates, latency, match rate, today's jobs, recent audit", [watch], async (parse, client, json, ct) =>
        {
            if (parse.GetValue(watch) is < 1)
            {
                throw new ArgumentException($"--watch {parse.GetValue(watch)}: expected seconds, at least 1");
            }

            while (true)
            {
                var status = await client.Controller.GetStatus(10);
                var today = await client.JobsAsync(DateOnly.FromDateTime(DateTime.UtcNow), null, ct);
                if (parse.GetValue(watch) is not null && !json && !Terminal.OutputRedirected)
                {
                    Console.Write("\u001b[2J\u001b[H");
                }

                PrintStatus(status, today, json);
                if (parse.GetValue(watch) is not { } seconds)
                {
                    return ExitCodes.Success;
                }

                await Task.Delay(TimeSpan.FromSeconds(seconds), ct);
            }
        });
    }

    private static void PrintStatus(MigrationStatus status, IReadOnlyList<JobStatus> today, bool json)
    {
        var byState = Enum.GetValues<JobState>().ToDictionary(s => s, s => today.Count(j => j.State == s));
        var latest = today.Where(j => j.Result is not null).MaxBy(j => j.FinishedAt)?.Result!.RunDirectory;
        if (json)
        {
            var node = JsonSerializer.SerializeToNode(status, Json)!.AsObject();
            node["jobs_today"] = JsonSerializer.SerializeToNode(byState.ToDictionary(p => Json.PropertyNamingPolicy!.ConvertName(p.Key.ToString()), p => p.Value), Json);
            node["latest_run"] = latest;
            Console.WriteLine(node.ToJsonString(Json));
            return;
        }

        var c = status.Config;
        Console.WriteLine($"phase {Name(c.Phase)}  primary {c.PrimaryBackend}  secondary {c.SecondaryBackend}  dual-write {(c.DualWrite ? "on" : "off")}  parquet traffic {c.TrafficPercentParquet} %  " +
                          $"validation {(c.ValidationEnabled ? c.StrictValidation ? "strict" : "on" : "off")}  disabled {(c.DisabledBackends.Count == 0 ? "none" : string.Join(",", c.DisabledBackends))}  config v{c.Version}");
        if (status.Security is { } security)
        {
            Console.WriteLine($"  security: {security}");
        }

        Console.WriteLine($"  window: outcomes since {(status.WindowSince is { } since ? since.ToString("u", CultureInfo.InvariantCulture) : "the cluster began")}; next: {status.NextPhase ?? "none (parquet_only is the last phase)"}");
        foreach (var b in status.Backends)
        {
            Console.WriteLine($"  {b.Backend,-8} jobs {b.Jobs,5}  backend errors {b.BackendErrors,4} ({b.ErrorRate:P1})  input errors {b.InputFailures,4}  other failures {b.OtherFailures,4}  job p50 {b.P50Seconds:F2} s  p95 {b.P95Seconds:F2} s  backend p95 {b.P95BackendSeconds:F2} s");
        }

        Console.WriteLine($"  dual-write jobs compared {status.DualWriteJobs}, clean {status.CleanDualWriteJobs}, match rate {(status.MatchRate is { } rate ? rate.ToString("P1", CultureInfo.InvariantCulture) : "n/a (nothing compared yet)")}");
        if (status.Backfill is { Verdicts.Count: > 0 } backfill)
        {
            Console.WriteLine($"  backfill (hopt validate): {backfill.Verdicts.Count} job(s) validated, {backfill.Matched} matched, {backfill.Mismatched} mismatched, {backfill.FailedRuns} failed");
        }

        if (status.Rollout is { } rollout)
        {
            Console.WriteLine($"  {Describe(rollout).Replace("\n", "\n  ", StringComparison.Ordinal)}");
        }
        Console.WriteLine($"  jobs today: {string.Join(", ", byState.Select(p => $"{p.Key.ToString().ToLowerInvariant()} {p.Value}"))}; latest run {latest ?? "-"}");
        if (status.Queue is { } queue)
        {
            var oldest = queue.OldestWaiting is { } at ? $", the oldest for {(DateTimeOffset.UtcNow - at).TotalSeconds:F0} s" : string.Empty;
            var running = queue.Running.Count == 0 ? "none" : string.Join(", ", queue.Running.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"));
            Console.WriteLine($"  queue: {queue.Waiting} waiting{oldest}; running per silo: {running}");
        }
        foreach (var a in status.RecentAudit)
        {
            Console.WriteLine($"  #{a.Sequence} {a.At:u} {a.Who}: {a.Action} ({a.Why})");
        }
    }

    private static Command Audit()
    {
        var since = new Option<string?>("--since") { Description = "Only entries at or after this time (ISO 8601, UTC unless it names a zone, e.g. 2026-12-01 or 2026-12-01T09:30Z)" };
        var after = new Option<long?>("--after") { Description = "Only entries after this sequence number, oldest first (page on with the last one printed)" };
        var limit = new Option<int>("--limit") { Description = "At most this many entries (1..10000): the latest ones, or the first after --after", DefaultValueFactory = _ => 50 };
        return ClusterCommand("audit", "The migration audit log, a page at a time", [since, after, limit], async (parse, client, json, ct) =>
        {
            var count = parse.GetValue(limit);
            if (count is < 1 or > 10_000)
            {
                throw new ArgumentException($"--limit {count}: 1..10000");
            }

            DateTimeOffset? from = parse.GetValue(since) is { } text
                ? DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at
                : throw new ArgumentException($"--since '{text}': not a date or time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T09:30Z)")
                : null;
            var audit = await client.Controller.GetAudit(parse.GetValue(after), from, count);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(audit, Json));
            }
            else
            {
                foreach (var a in audit)
                {
                    Console.WriteLine($"#{a.Sequence} {a.At:u} {a.Who}{(a.Note is { } note ? $" [{note}]" : "")}: {a.Action} ({a.Why}) v{a.Before.Version} -> v{a.After.Version}");
                }
            }

            return ExitCodes.Success;
        });
    }

    private static Command Change(string name, string description, Symbol[] symbols,
        Func<ParseResult, IMigrationControllerGrain, string, string, Task<AuditEntry>> change)
    {
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the audit log)", Required = true };
        var who = WhoOption();
        return ClusterCommand(name, description, [.. symbols, reason, who], async (parse, client, json, ct) =>
        {
            PrintEntry(await change(parse, client.Controller, parse.GetValue(who)!, parse.GetValue(reason)!), json);
            return ExitCodes.Success;
        });
    }

    private static Option<string> WhoOption() =>
        new("--who") { Description = "A note of who you are (the audit names your certificate's identity; without identities, this)", DefaultValueFactory = _ => Environment.UserName };

    private static void PrintEntry(AuditEntry entry, bool json) => Console.WriteLine(json
        ? JsonSerializer.Serialize(entry, Json)
        : $"#{entry.Sequence} {entry.Action}: config v{entry.Before.Version} -> v{entry.After.Version}; {Grains.Migration.MigrationLog.Diff(entry.Before, entry.After)}");

    /// <summary>Whether <paramref name="command"/> reaches the cluster (made by <see cref="ClusterCommand"/>: it has <c>--cluster</c>).</summary>
    internal static bool ReachesCluster(Command command) => command.Options.Any(o => o.Name == "--cluster");

    /// <summary>The connection of the <c>hopt shell</c> running the command, if any.</summary>
    private static Session? _shell;

    /// <summary>
    /// A command that reaches the cluster through the client library. Ctrl+C and SIGTERM cancel what it is doing (a
    /// watch, a wait) and it exits 130 at once; nothing in the cluster is cancelled by that. Run by <c>hopt shell</c>,
    /// a command that names no cluster or identity uses the shell's connection; one that names some connects anew,
    /// taking what it does not name from the shell. A command that <paramref name="shares"/> its connection (the shell)
    /// offers it to the commands it runs.
    /// </summary>
    internal static Command ClusterCommand(string name, string description, Symbol[] symbols, Func<ParseResult, IHeavyOptimizerClient, bool, CancellationToken, Task<int>> body,
        int unreachable = ExitCodes.Failure, bool shares = false)
    {
        var cluster = new Option<string?>("--cluster") { Description = $"Gateway host:port, or the cluster's PostgreSQL connection string (default ${HeavyOptimizerClientOptions.EnvironmentVariable}, else 127.0.0.1:30000)" };
        var clusterFile = new Option<string?>("--cluster-file") { Description = "A private file (mode 600) holding --cluster's value (a connection string with a password)" };
        var identity = new Option<string?>("--identity") { Description = $"Your certificate (operator-NAME.pfx or submitter-NAME.pfx from hopt certs init; default ${IdentityVariable})" };
        var authority = new Option<string?>("--ca") { Description = "The cluster's CA certificate (default: ca.pem beside the identity)" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command(name, description) { cluster, clusterFile, identity, authority, json };
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Option option:
                    command.Options.Add(option);
                    break;
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
            }
        }

        command.SetAction(async (parse, cancellation) =>
        {
            using var signals = new ConsoleSignals(cancellation);
            var stop = signals.Token;
            var answered = false;

            // The body's answer; a cluster that stops answering meanwhile is said to be so, not taken for a fault of hopt.
            async Task<int> Answer(IHeavyOptimizerClient client, string where)
            {
                try
                {
                    var result = await body(parse, client, parse.GetValue(json), stop);
                    answered = true;
                    return result;
                }
                catch (Exception e) when (ClusterCalls.IsTransient(e) && !stop.IsCancellationRequested)
                {
                    Console.Error.WriteLine($"hopt: the cluster at {where} stopped answering: {ExitCodes.OneLine(e.Message)}");
                    return unreachable;
                }
            }

            var code = await ExitCodes.GuardAsync(Console.Error, async () =>
            {
                var line = new Connection(parse.GetValue(cluster), parse.GetValue(clusterFile), parse.GetValue(identity), parse.GetValue(authority));
                if (line.Cluster is not null && line.ClusterFile is not null)
                {
                    throw new ArgumentException("--cluster and --cluster-file: choose one");
                }

                if (_shell is { } shell && !shares)
                {
                    if (line == Connection.None)
                    {
                        return await Answer(shell.Client, shell.Where);
                    }

                    line = line.Inherit(shell.Connection);
                }

                // No configuration files, environment settings or logging providers: the client is configured here, and a
                // command says what happened in its own words (about 50 ms less to start).
                var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
                // This command owns Ctrl+C and SIGTERM; the host's console lifetime would swallow them.
                builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();

                var (me, ca) = Identity(line.Identity, line.Authority);
                builder.AddHeavyOptimizerClient(o =>
                {
                    o.Cluster = line.Cluster ?? (line.ClusterFile is { } file ? SecretFiles.ReadText(file, "--cluster-file") : o.Cluster);
                    (o.Identity, o.Authority) = (me, ca);
                });
                using var host = builder.Build();
                var where = host.Services.GetRequiredService<HeavyOptimizerClientOptions>().DisplayName;
                try
                {
                    await host.StartAsync(stop);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    var hint = e is Npgsql.PostgresException or Npgsql.NpgsqlException ? " (a database error: check the PostgreSQL connection string, or give a gateway host:port instead)"
                        : me is null ? " (if the cluster runs with TLS, give your certificate: --identity FILE or $HOPT_IDENTITY)"
                        : " (is your certificate from this cluster's CA, and the address a gateway of it?)";
                    Console.Error.WriteLine($"hopt: cannot reach the cluster at {where}: {ExitCodes.OneLine(e.Message)}{hint}");
                    return unreachable;
                }

                var client = host.Services.GetRequiredService<IHeavyOptimizerClient>();
                var enclosing = _shell;
                _shell = shares ? new Session(client, where, line) : enclosing;
                try
                {
                    return await Answer(client, where);
                }
                finally
                {
                    _shell = enclosing;
                    // The answer is out: the connection closes without the graceful goodbye (about 100 ms), which would only tell the gateway what the closed socket does.
                    await host.StopAsync(new CancellationToken(canceled: true));
                }
            });
            // A command with its own "unreachable" code (health: 3) uses it for anything that kept it from answering,
            // and with --json still prints a document a monitor can parse.
            if (answered || unreachable == ExitCodes.Failure || code == ExitCodes.Cancelled)
            {
                return code;
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { status = "unknown", reasons = new[] { "the cluster could not be asked (the error is on stderr)" } }, Json));
            }

            return unreachable;
        });
        return command;
    }

    /// <summary>
    /// What a command's connection resolves to, however it was given (options of <paramref name="parse"/>, else the
    /// environment): the cluster, the identity file and the CA file. An agent serves the commands whose connection
    /// resolves as its own does.
    /// </summary>
    internal static string ResolvedConnection(ParseResult? parse)
    {
        string? Given(string name) => parse?.GetValue<string?>(name);
        var cluster = Given("--cluster") ?? (Given("--cluster-file") is { } file ? SecretFiles.ReadText(file, "--cluster-file") : new HeavyOptimizerClientOptions().Cluster);
        var (identity, authority) = IdentityFiles(Given("--identity"), Given("--ca"));
        return string.Join('\n', cluster, identity is null ? "" : Path.GetFullPath(identity), authority is null ? "" : Path.GetFullPath(authority));
    }

    /// <summary>The variable naming the identity certificate cluster commands present.</summary>
    public const string IdentityVariable = "HOPT_IDENTITY";

    /// <summary>The identity to connect with (--identity, else $HOPT_IDENTITY, else none) and the CA beside it (or --ca).</summary>
    private static (System.Security.Cryptography.X509Certificates.X509Certificate2? Identity, System.Security.Cryptography.X509Certificates.X509Certificate2? Authority) Identity(string? given, string? ca)
    {
        var (path, authorityPath) = IdentityFiles(given, ca);
        if (path is null)
        {
            return ca is null ? (null, null) : throw new ArgumentException("--ca without an identity: give --identity (or $HOPT_IDENTITY) too");
        }

        return (Silo.Security.ClusterCertificates.LoadIdentity(path), Silo.Security.ClusterCertificates.LoadAuthority(authorityPath!));
    }

    /// <summary>The identity file (--identity, else $HOPT_IDENTITY, else none) and the CA file (--ca, else ca.pem beside the identity).</summary>
    private static (string? Identity, string? Authority) IdentityFiles(string? given, string? ca)
    {
        var path = given ?? (Environment.GetEnvironmentVariable(IdentityVariable) is { Length: > 0 } set ? set : null);
        return path is null ? (null, null) : (path, ca ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Silo.Security.ClusterCertificates.AuthorityFile));
    }

    private static void Print(JobStatus status, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(status, Json));
            return;
        }

        Console.WriteLine($"{status.JobId}: {status.State} (attempts {status.Attempts}) route {status.Route?.Primary ?? "-"}{(status.Route?.Secondary is { } s ? " + " + s : "")}");
        if (status.State == JobState.Queued)
        {
            var waited = DateTimeOffset.UtcNow - status.SubmittedAt;
            Console.WriteLine($"  waiting for a job slot: {(status.QueuePosition is { } place ? $"place {place} in the queue" : "about to be taken")}, waited {waited.TotalSeconds:F0} s");
        }

        if (status.Result is { } r)
        {
            Console.WriteLine($"  best {r.BestAlgorithm} size {r.BestSize} fitness {r.BestFitness:F4} on {r.Backend}; run directory {r.RunDirectory}");
        }

        if (status.Consistency is { } c)
        {
            Console.WriteLine($"  consistency {c.Primary} vs {c.Secondary}{(c.Strict ? " (strict)" : "")}: {c.Summary}");
            foreach (var problem in c.Problems.Take(3))
            {
                Console.WriteLine($"    {problem}");
            }
        }

        if (status.Error is { } error)
        {
            Console.WriteLine($"  error ({Cause(status)}): {error}");
        }

        if (status.Replays.Count > 0)
        {
            Console.WriteLine($"  replayed as {string.Join(", ", status.Replays)}");
        }
    }

    private static string Cause(JobStatus job) => job.Cause?.ToString().ToLowerInvariant() ?? "unknown";

    private static bool OnOff(string text, string what) => text switch
    {
        "on" => true,
        "off" => false,
        _ => throw new ArgumentException($"{what} '{text}': on or off"),
    };

    private static MigrationPhase ParsePhase(string text)
    {
        try
        {
            return MigrationPhases.Parse(text);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"phase {e.Message}", e);
        }
    }

    private static string Name(MigrationPhase phase) => MigrationPhases.Name(phase);

    /// <summary>Phases in JSON as the operators write them: heavydb_only, dual_write, cut_over, parquet_only.</summary>
    private sealed class PhaseConverter : JsonConverter<MigrationPhase>
    {
        public override MigrationPhase Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => MigrationPhases.Parse(reader.GetString()!);

        public override void Write(Utf8JsonWriter writer, MigrationPhase value, JsonSerializerOptions options) => writer.WriteStringValue(MigrationPhases.Name(value));
    }

    /// <summary>Where a command connects: what its command line says about the cluster and the identity.</summary>
    internal sealed record Connection(string? Cluster, string? ClusterFile, string? Identity, string? Authority)
    {
        public static readonly Connection None = new(null, null, null, null);

        /// <summary>What this command line does not say, taken from the shell's: its cluster unless this names one, its identity (and CA) unless this gives one.</summary>
        public Connection Inherit(Connection shell) => new(
            Cluster ?? (ClusterFile is null ? shell.Cluster : null),
            ClusterFile ?? (Cluster is null ? shell.ClusterFile : null),
            Identity ?? shell.Identity,
            Identity is null ? Authority ?? shell.Authority : Authority);
    }

    /// <summary>A shell's connected client, where it connected, and the command line it connected by.</summary>
    private sealed record Session(IHeavyOptimizerClient Client, string Where, Connection Connection);

    /// <summary>A host lifetime that leaves the process's signals to the command.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
