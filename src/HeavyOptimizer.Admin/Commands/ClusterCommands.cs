using System.CommandLine;
using System.Text.Json;
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
internal static class ClusterCommands
{
    private static readonly JsonSerializerOptions Json = new(RunReport.JsonOptions) { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) } };

    public static IEnumerable<Command> Create()
    {
        yield return Submit();
        yield return Job();
        yield return Jobs();
        yield return Replay();
        yield return Phase();
        yield return Traffic();
        yield return DualWrite();
        yield return Checkpoint();
        yield return Rollback();
        yield return Config();
        yield return Status();
        yield return Audit();
    }

    private static Command Submit()
    {
        var input = new Option<string>("--input") { Description = "Strategy CSV on the shared data root (or anywhere, with --upload)", Required = true };
        var size = new Option<int>("--portfolio-size", "-n") { Description = "Portfolio size", DefaultValueFactory = _ => 35 };
        var jobId = new Option<string?>("--job-id") { Description = "Job id (default: a new one); submitting an existing id is idempotent" };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 42, Description = "Seed" };
        var evaluations = new Option<long?>("--max-evaluations") { Description = "Evaluation budget per algorithm" };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Search seconds instead of budgets" };
        var wait = new Option<bool>("--wait") { Description = "Wait for the job to finish" };
        var upload = new Option<bool>("--upload") { Description = "Send the file to the cluster instead of naming a path its silos can read" };
        return ClusterCommand("submit", "Submit an optimisation job", [input, size, jobId, seed, evaluations, timeLimit, wait, upload], async (parse, client, json, ct) =>
        {
            var id = parse.GetValue(jobId) ?? $"job-{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..8]}";
            var path = Path.GetFullPath(parse.GetValue(input)!);
            var spec = new JobSpec
            {
                InputPath = parse.GetValue(upload) ? await client.UploadAsync(path, ct) : path,
                PortfolioSize = parse.GetValue(size),
                Seed = parse.GetValue(seed),
                MaxEvaluations = parse.GetValue(evaluations),
                TimeLimitSeconds = parse.GetValue(timeLimit),
            };
            var status = await client.SubmitAsync(id, spec, ct);
            if (parse.GetValue(wait))
            {
                using var display = new ProgressDisplay(Console.Error);
                JobState? shown = null;
                await foreach (var change in client.WatchAsync(id, ct))
                {
                    status = change;
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
            }

            Print(status, json);
            return status.State == JobState.Failed ? ExitCodes.Failure : ExitCodes.Success;
        });
    }

    private static Command Job()
    {
        var id = new Argument<string>("id") { Description = "Job id" };
        return ClusterCommand("job", "Show one job", [id], async (parse, client, json, ct) =>
        {
            var status = await client.GetAsync(parse.GetValue(id)!, ct);
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
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            var jobs = new List<JobStatus>();
            for (var day = parse.GetValue(since) ?? today; day <= today; day = day.AddDays(1))
            {
                jobs.AddRange(await client.JobsAsync(day, parse.GetValue(state), ct));
            }

            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(jobs, Json));
            }
            else
            {
                foreach (var j in jobs)
                {
                    Console.WriteLine($"{j.JobId,-40} {j.State,-9} {j.Route?.Primary ?? "-",-8} {j.Result?.BestFitness.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) ?? j.Error ?? ""}");
                }
            }

            return ExitCodes.Success;
        });
    }

    /// <summary>
    /// The legacy replay scripts as one command: failed jobs, jobs stuck Running longer than a limit, or completed jobs
    /// whose run directory is missing or fails its manifest check here (the gaps detect_and_replay_gaps.py looked for),
    /// resubmitted as new jobs (id &lt;original&gt;-replay-&lt;ts&gt;, same request), optionally on one backend, at
    /// most --count of them; --dry-run lists them only.
    /// </summary>
    private static Command Replay()
    {
        var failed = new Option<bool>("--failed") { Description = "Replay failed jobs" };
        var stuck = new Option<double?>("--stuck-minutes") { Description = "Replay jobs Running for longer than this many minutes" };
        var backend = new Option<string?>("--backend") { Description = "Run the replays on this backend only (heavydb or parquet)" };
        var count = new Option<int>("--count") { Description = "At most this many", DefaultValueFactory = _ => 10 };
        var since = new Option<DateOnly?>("--since") { Description = "First UTC day to look at (default today)" };
        var missing = new Option<bool>("--missing-output") { Description = "Replay completed jobs whose run directory is missing or incomplete (checked on this machine)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be replayed, submit nothing" };
        return ClusterCommand("replay", "Resubmit failed, stuck or output-less jobs, optionally on one backend",
            [failed, stuck, missing, backend, count, since, dryRun], async (parse, client, json, ct) =>
        {
            if (!parse.GetValue(failed) && parse.GetValue(stuck) is null && !parse.GetValue(missing))
            {
                throw new ArgumentException("replay needs --failed, --stuck-minutes M and/or --missing-output");
            }

            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            var candidates = new List<JobStatus>();
            for (var day = parse.GetValue(since) ?? today; day <= today; day = day.AddDays(1))
            {
                if (parse.GetValue(failed))
                {
                    candidates.AddRange(await client.JobsAsync(day, JobState.Failed, ct));
                }

                if (parse.GetValue(stuck) is { } minutes)
                {
                    candidates.AddRange((await client.JobsAsync(day, JobState.Running, ct))
                        .Where(j => DateTimeOffset.UtcNow - (j.StartedAt ?? j.SubmittedAt) > TimeSpan.FromMinutes(minutes)));
                }

                if (parse.GetValue(missing))
                {
                    candidates.AddRange((await client.JobsAsync(day, JobState.Completed, ct))
                        .Where(j => j.Result is not { RunDirectory: var run } || !RunWriter.Verify(run, out _)));
                }
            }

            var replayed = new List<JobStatus>();
            foreach (var original in candidates.Where(j => !j.JobId.Contains("-replay-", StringComparison.Ordinal)).Take(parse.GetValue(count)))
            {
                var spec = original.Spec with { BackendOverride = parse.GetValue(backend) ?? original.Spec.BackendOverride, ReplayOf = original.JobId };
                var id = $"{original.JobId}-replay-{DateTime.UtcNow:yyyyMMddHHmmss}";
                if (!json)
                {
                    Console.WriteLine($"{(parse.GetValue(dryRun) ? "would replay" : "replaying")} {original.JobId} ({Reason(original)}) as {id}{(spec.BackendOverride is { } b ? $" on {b}" : "")}");
                }

                replayed.Add(parse.GetValue(dryRun) ? original : await client.SubmitAsync(id, spec, ct));
            }

            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(replayed, Json));
            }
            else
            {
                Console.WriteLine($"{(parse.GetValue(dryRun) ? "would replay" : "replayed")} {replayed.Count} job(s)");
            }

            return ExitCodes.Success;
        });
    }

    private static string Reason(JobStatus job) => job.State switch
    {
        JobState.Completed => $"completed, output missing or incomplete: {job.Result?.RunDirectory ?? "none recorded"}",
        JobState.Running => $"running since {job.StartedAt ?? job.SubmittedAt:u}",
        _ => job.Error is { } error ? $"{job.State}: {error}" : job.State.ToString(),
    };

    private static Command Phase()
    {
        var phase = new Argument<string>("phase") { Description = "heavydb_only | dual_write | cut_over | parquet_only" };
        var force = new Option<bool>("--force") { Description = "Override the guards (audited)" };
        return Change("phase", "Change the migration phase", [phase, force], (parse, c, who, why) => c.SetPhase(ParsePhase(parse.GetValue(phase)!), parse.GetValue(force), who, why));
    }

    private static Command Traffic()
    {
        var percent = new Argument<int>("percent") { Description = "Share of jobs routed to Parquet in cut_over, 0..100" };
        return Change("traffic", "Set the Parquet traffic percentage", [percent], (parse, c, who, why) => c.SetTraffic(parse.GetValue(percent), who, why));
    }

    private static Command DualWrite()
    {
        var onOff = new Argument<string>("on|off");
        return Change("dual-write", "Turn dual-write on or off", [onOff], (parse, c, who, why) => c.SetDualWrite(parse.GetValue(onOff) switch
        {
            "on" => true,
            "off" => false,
            var other => throw new ArgumentException($"dual-write '{other}': on or off"),
        }, who, why));
    }

    private static Command Checkpoint()
    {
        var name = new Argument<string>("name");
        return Change("checkpoint", "Save the migration settings under a name", [name], (parse, c, who, why) => c.Checkpoint(parse.GetValue(name)!, who, why));
    }

    private static Command Rollback()
    {
        var emergency = new Option<bool>("--emergency") { Description = "heavydb_only, dual-write off, traffic 0, in one step" };
        var to = new Option<string?>("--to") { Description = "A checkpoint name, or last-known-good" };
        return Change("rollback", "Roll the migration settings back", [emergency, to], (parse, c, who, why) =>
            parse.GetValue(emergency) ? c.EmergencyRollback(who, why)
            : parse.GetValue(to) is { } name ? c.RollbackTo(name, who, why)
            : throw new ArgumentException("rollback needs --emergency or --to NAME|last-known-good"));
    }

    private static Command Config()
    {
        var export = ClusterCommand("export", "Print the migration settings as production_config.ini", [], async (_, client, _, ct) =>
        {
            Console.Write(Grains.Migration.MigrationIni.Export(await client.Controller.GetConfig()));
            return ExitCodes.Success;
        });
        var file = new Argument<string>("file") { Description = "An ini file in the operators' production_config.ini shape" };
        var force = new Option<bool>("--force") { Description = "Override the phase guards (audited)" };
        var import = Change("import", "Apply the settings an ini file states (keys it leaves out keep their values)", [file, force], async (parse, c, who, why) =>
        {
            var config = Grains.Migration.MigrationIni.Import(await File.ReadAllTextAsync(parse.GetValue(file)!), await c.GetConfig(), out var ignored);
            foreach (var key in ignored)
            {
                Console.Error.WriteLine($"hopt: ignored (not a migration setting): {key}");
            }

            return await c.Import(config, parse.GetValue(force), who, why);
        });
        return new Command("config", "The migration settings in the operators' ini shape") { export, import };
    }

    /// <summary>
    /// The migration at a glance; with --watch S, redrawn every S seconds until Ctrl+C: the live migration dashboard
    /// the legacy migration_dashboard.py printed (phase, backends, today's jobs by state, the latest run).
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
                if (parse.GetValue(watch) is not null && !json && !Console.IsOutputRedirected)
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
        Console.WriteLine($"phase {Name(c.Phase)}  primary {c.PrimaryBackend}  secondary {c.SecondaryBackend}  dual-write {(c.DualWrite ? "on" : "off")}  parquet traffic {c.TrafficPercentParquet} %  config v{c.Version}");
        foreach (var b in status.Backends)
        {
            Console.WriteLine($"  {b.Backend,-8} jobs {b.Jobs,5}  errors {b.Errors,4} ({b.ErrorRate:P1})  p50 {b.P50Seconds:F2} s  p95 {b.P95Seconds:F2} s");
        }

        Console.WriteLine($"  dual-write jobs {status.DualWriteJobs}, clean {status.CleanDualWriteJobs}, match rate {status.MatchRate:P1}");
        Console.WriteLine($"  jobs today: {string.Join(", ", byState.Select(p => $"{p.Key.ToString().ToLowerInvariant()} {p.Value}"))}; latest run {latest ?? "-"}");
        foreach (var a in status.RecentAudit)
        {
            Console.WriteLine($"  #{a.Sequence} {a.At:u} {a.Who}: {a.Action} ({a.Why})");
        }
    }

    private static Command Audit() => ClusterCommand("audit", "The migration audit log", [], async (_, client, json, ct) =>
    {
        var audit = await client.Controller.GetAudit();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(audit, Json));
        }
        else
        {
            foreach (var a in audit)
            {
                Console.WriteLine($"#{a.Sequence} {a.At:u} {a.Who}: {a.Action} ({a.Why}) v{a.Before.Version} -> v{a.After.Version}");
            }
        }

        return ExitCodes.Success;
    });

    private static Command Change(string name, string description, Symbol[] symbols,
        Func<ParseResult, IMigrationControllerGrain, string, string, Task<AuditEntry>> change)
    {
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the audit log)", Required = true };
        var who = new Option<string>("--who") { Description = "Who (default: the user name)", DefaultValueFactory = _ => Environment.UserName };
        return ClusterCommand(name, description, [.. symbols, reason, who], async (parse, client, json, ct) =>
        {
            var entry = await change(parse, client.Controller, parse.GetValue(who)!, parse.GetValue(reason)!);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(entry, Json));
            }
            else
            {
                Console.WriteLine($"#{entry.Sequence} {entry.Action}: config v{entry.Before.Version} -> v{entry.After.Version}, phase {Name(entry.After.Phase)}, traffic {entry.After.TrafficPercentParquet} %, dual-write {(entry.After.DualWrite ? "on" : "off")}");
            }

            return ExitCodes.Success;
        });
    }

    private static Command ClusterCommand(string name, string description, Symbol[] symbols, Func<ParseResult, IHeavyOptimizerClient, bool, CancellationToken, Task<int>> body)
    {
        var cluster = new Option<string?>("--cluster") { Description = $"Gateway host:port, or the cluster's PostgreSQL connection string (default ${HeavyOptimizerClientOptions.EnvironmentVariable}, else 127.0.0.1:30000)" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command(name, description) { cluster, json };
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

        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.AddHeavyOptimizerClient(o => o.Cluster = parse.GetValue(cluster) ?? o.Cluster);
            using var host = builder.Build();
            try
            {
                await host.StartAsync(cancellation);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Console.Error.WriteLine($"hopt: cannot reach the cluster at {host.Services.GetRequiredService<HeavyOptimizerClientOptions>().DisplayName}: {e.Message}");
                return ExitCodes.Failure;
            }

            try
            {
                return await body(parse, host.Services.GetRequiredService<IHeavyOptimizerClient>(), parse.GetValue(json), cancellation);
            }
            catch (MigrationGuardException e)
            {
                Console.Error.WriteLine($"hopt: refused: {e.Message}");
                return ExitCodes.BadInput;
            }
            finally
            {
                await host.StopAsync(CancellationToken.None);
            }
        }));
        return command;
    }

    private static void Print(JobStatus status, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(status, Json));
            return;
        }

        Console.WriteLine($"{status.JobId}: {status.State} (attempts {status.Attempts}) route {status.Route?.Primary ?? "-"}{(status.Route?.Secondary is { } s ? " + " + s : "")}");
        if (status.Result is { } r)
        {
            Console.WriteLine($"  best {r.BestAlgorithm} size {r.BestSize} fitness {r.BestFitness:F4} on {r.Backend}; run directory {r.RunDirectory}");
        }

        if (status.Consistency is { } c)
        {
            Console.WriteLine($"  consistency {c.Primary} vs {c.Secondary}: {(c.Passed is null ? "not compared" : c.Passed.Value ? "passed" : "FAILED")} {string.Join("; ", c.Problems.Take(3))}");
        }

        if (status.Error is { } error)
        {
            Console.WriteLine($"  error: {error}");
        }
    }

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
}
