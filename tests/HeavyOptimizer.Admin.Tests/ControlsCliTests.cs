using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>One embedded silo for the tests of a class; its input root is <c>in/</c> of the fixture's directory.</summary>
public sealed class EmbeddedSiloFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public EmbeddedSiloFixture()
    {
        Directory.CreateDirectory(InputRoot);
        Silo = new RunningSilo(Path.Combine(_dir.Path, "data"), null, "--input-root", InputRoot).Start();
    }

    internal RunningSilo Silo { get; }

    public string InputRoot => Path.Combine(_dir.Path, "in");

    public string Outside => _dir.Path;

    public void Dispose()
    {
        Silo.Dispose();
        _dir.Dispose();
    }
}

/// <summary>
/// The migration controls and the job front door, tried through `hopt` against a real silo process as an operator in a
/// hurry would: command sequences that used to skip a guard, requests that used to reach files or fail late, signals
/// that used to be ignored, and the log lines the runbook greps for.
/// </summary>
public sealed class ControlsCliTests(EmbeddedSiloFixture fixture) : IClassFixture<EmbeddedSiloFixture>
{
    private Hopt.Outcome Run(params string[] args) => fixture.Silo.Run(args);

    private string Input(string name, int strategies = 40, ulong seed = 1) =>
        WriteFile(Path.Combine(fixture.InputRoot, name), Some.Csv(Some.RandomMatrix(strategies, 20, seed)));

    private static string WriteFile(string path, string content)
    {
        File.WriteAllText(path, content);
        return path;
    }

    private static string OneLine(Hopt.Outcome outcome)
    {
        var lines = outcome.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return Assert.Single(lines);
    }

    private void Refused(string expected, params string[] args)
    {
        var outcome = Run(args);
        Assert.True(outcome.ExitCode == 2, $"hopt {string.Join(' ', args)}: exit {outcome.ExitCode}, {outcome.Error}");
        Assert.Contains(expected, OneLine(outcome), StringComparison.Ordinal);
    }

    [Fact]
    public void Guards_hold_against_ordinary_command_sequences()
    {
        Assert.Equal(0, Run("rollback", "--emergency", "--reason", "start clean").ExitCode);
        var audited = JsonNode.Parse(Run("audit", "--json").Out)!.AsArray().Count;

        Refused("traffic applies only in cut_over (the phase is heavydb_only)", "traffic", "100", "--reason", "all in");
        Refused("heavydb_only -> parquet_only skips dual_write and cut_over", "phase", "parquet_only", "--reason", "done");
        Refused("dual-write applies only in cut_over", "dual-write", "on", "--reason", "mirror");
        Refused("traffic 150: a percentage, 0..100", "traffic", "150", "--reason", "typo");
        Refused("--emergency, --to and --checkpoint: choose one", "rollback", "--emergency", "--to", "x", "--reason", "both");
        var typo = Path.Combine(fixture.Outside, "typo.ini");
        File.WriteAllText(typo, "[SYSTEM]\nmigration_phase = parquet_only\n[MIGRATION]\nvalidaton_enabled = false\n");
        Refused("unknown key validaton_enabled", "config", "import", typo, "--reason", "typo");
        File.WriteAllText(typo, "[SYSTEM]\nmigration_phase = parquet_only\n[MIGRATION]\ntraffic_percentage_parquet = 50\n");
        Refused("traffic_percentage_parquet must be 100, not 50", "config", "import", typo, "--force", "--reason", "half");
        Assert.Equal(audited, JsonNode.Parse(Run("audit", "--json").Out)!.AsArray().Count);

        Assert.Equal(0, Run("checkpoint", "before", "--reason", "baseline").ExitCode);
        Refused("use --replace", "checkpoint", "before", "--reason", "again");
        Assert.Equal(0, Run("checkpoint", "before", "--replace", "--reason", "new baseline").ExitCode);
        Assert.Equal(0, Run("validation", "on", "--strict", "on", "--reason", "checkpoint 2.3").ExitCode);

        var status = JsonNode.Parse(Run("status", "--json").Out)!;
        Assert.Equal(("heavydb_only", true), ((string)status["config"]!["phase"]!, (bool)status["config"]!["strict_validation"]!));
        Assert.Null(status["match_rate"]);
        var text = Run("status").Out;
        Assert.Contains("validation strict", text, StringComparison.Ordinal);
        Assert.Contains("match rate n/a", text, StringComparison.Ordinal);
        Assert.Contains("next: dual_write", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Submit_checks_the_whole_request_before_accepting_it()
    {
        var input = Input("front-door.csv");
        Refused("job id '../../../../x': use 1..128 of A-Z a-z 0-9 . _ -", "submit", "--input", input, "--job-id", "../../../../x");
        Refused("job id '': use 1..128", "submit", "--input", input, "--job-id", "");
        Refused("(500 characters)", "submit", "--input", input, "--job-id", new string('j', 500));
        Refused("portfolio size 101: a job takes 10..100", "submit", "--input", input, "-n", "101");
        Refused("ULTA's gates without ULTA do nothing", "submit", "--input", input, "--ulta-gates");
        Refused("is outside the cluster's input roots", "submit", "--input", "/etc/shadow", "--no-upload", "--job-id", "shadow");
        Refused("--upload and --no-upload: choose one", "submit", "--input", input, "--upload", "--no-upload");
        Assert.Equal(1, Run("job", "shadow").ExitCode);

        // A local file outside the roots is uploaded by this command, as its own user, and says so.
        var local = WriteFile(Path.Combine(fixture.Outside, "local.csv"), Some.Csv(Some.RandomMatrix(30, 20, 4)));
        var uploaded = Run("submit", "--input", local, "-n", "10", "--max-evaluations", "100", "--job-id", "front-upload", "--wait", "--json");
        Assert.True(uploaded.ExitCode == 0, uploaded.Error);
        Assert.Contains("outside the cluster's input roots: uploading it", uploaded.Error, StringComparison.Ordinal);

        string[] request = ["submit", "--input", input, "-n", "10", "--algorithms", "ga,sa", "--metric", "roi", "--param", "ga.population=12", "--max-evaluations", "100", "--job-id", "front-same"];
        var first = Run([.. request, "--wait", "--json"]);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(("roi", "ga.population=12"), ((string)JsonNode.Parse(first.Out)!["spec"]!["metric"]!, (string)JsonNode.Parse(first.Out)!["spec"]!["parameters"]!));
        Assert.Equal(0, Run(request).ExitCode);
        Refused("job front-same already exists with a different request", [.. request[..^2], "--job-id", "front-same", "--seed", "9"]);
    }

    [Fact]
    public void A_replay_dry_run_checks_exactly_like_the_real_run()
    {
        var bad = WriteFile(Path.Combine(fixture.InputRoot, "dry.csv"), "Date,a,b,c,d,e,f,g,h,i,j\n2024-01-01,1,2,3,4,5,6,7,8,9,x\n2024-01-02,1,2,3,4,5,6,7,8,9,10\n");
        Assert.Equal(2, Run("submit", "--input", bad, "-n", "10", "--job-id", "dry-bad", "--wait").ExitCode);

        Refused("--backend foo: heavydb or parquet", "replay", "--failed", "--include-input-errors", "--backend", "foo", "--dry-run");
        Assert.Contains("would replay dry-bad (failed (input)", Run("replay", "--failed", "--include-input-errors", "--dry-run").Out, StringComparison.Ordinal);
        Assert.DoesNotContain("dry-bad", Run("replay", "--failed", "--dry-run").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_running_job_that_makes_progress_is_not_stuck_however_long_it_runs()
    {
        Assert.Equal(0, Run("submit", "--input", Input("busy.csv", 120, 6), "-n", "10", "--time-limit", "40", "--algorithms", "sa", "--job-id", "busy").ExitCode);
        var clock = Stopwatch.StartNew();
        while (!Run("job", "busy").Out.Contains("Running", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the job did not start");
        }

        // Running for longer than the 3 s limit given below, and still searching.
        Thread.Sleep(TimeSpan.FromSeconds(5));
        var proposed = Run("replay", "--stuck-minutes", "0.05", "--dry-run");

        Assert.True(proposed.ExitCode == 0, proposed.Error);
        Assert.Contains("Running", Run("job", "busy").Out, StringComparison.Ordinal);
        Assert.DoesNotContain("busy", proposed.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Ctrl_c_and_sigterm_stop_the_console_at_once_and_leave_the_job_running()
    {
        var lines = new ConcurrentQueue<string>();
        var watch = Hopt.Start(lines.Enqueue, "status", "--watch", "1", "--cluster", fixture.Silo.Cluster);
        var clock = Stopwatch.StartNew();
        while (lines.Count(l => l.Contains("jobs today:", StringComparison.Ordinal)) < 2)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "status --watch 1 did not redraw twice within 30 s");
            Thread.Sleep(50);
        }

        Assert.Equal(130, Stopped(watch, "INT"));

        var input = Input("signal.csv", 120, 5);
        Assert.Equal(0, Run("submit", "--input", input, "-n", "10", "--time-limit", "4", "--job-id", "signal-job").ExitCode);
        var waiting = new ConcurrentQueue<string>();
        var wait = Hopt.Start(waiting.Enqueue, "submit", "--input", input, "-n", "10", "--time-limit", "4", "--job-id", "signal-job", "--wait", "--cluster", fixture.Silo.Cluster);
        clock.Restart();
        while (!waiting.Contains("signal-job: Running"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"submit --wait did not follow the running job: {string.Join('|', waiting)}");
            Thread.Sleep(50);
        }

        Assert.Equal(130, Stopped(wait, "TERM"));
        clock.Restart();
        while (!Run("job", "signal-job").Out.Contains("Completed", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the job did not complete after its watcher was stopped");
        }
    }

    [Fact]
    public void A_shell_runs_cluster_commands_on_its_own_connection_refuses_the_others_and_ends_with_the_last_code()
    {
        // HOPT_CLUSTER names nothing that answers: a command in the shell that started a client of its own would fail.
        var nowhere = new Dictionary<string, string> { ["HOPT_CLUSTER"] = $"127.0.0.1:{SiloProcess.FreePort()}" };
        var shell = Hopt.Run(nowhere, "status --json\n# a comment\n\nhopt job shell-no-such-job\noptimize --input x.csv -n 3\nphase bogus --reason r\njobs --help\nstatus\n",
            "shell", "--cluster", fixture.Silo.Cluster);
        Assert.True(shell.ExitCode == 0, $"exit {shell.ExitCode}: {shell.Error}");
        var status = JsonNode.Parse(shell.Out[..(shell.Out.IndexOf("\n}", StringComparison.Ordinal) + 2)])!;
        Assert.NotNull(status["config"]!["phase"]);
        Assert.Contains("Usage:\n  hopt jobs [options]", shell.Out, StringComparison.Ordinal);
        Assert.Contains("jobs today:", shell.Out[shell.Out.IndexOf("Usage:", StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.Equal(
            ["hopt: no job shell-no-such-job", "hopt: error: hopt shell runs cluster commands only; run 'hopt optimize' on its own", "hopt: error: phase 'bogus' is not heavydb_only, dual_write, cut_over or parquet_only"],
            shell.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // A line is its own words: no @file brings in a nested shell; --version is fine.
        File.WriteAllText(Path.Combine(fixture.Outside, "nested.rsp"), "shell\n");
        var nested = Hopt.Run(new Dictionary<string, string>(), $"@{Path.Combine(fixture.Outside, "nested.rsp")}\n--version\n", "shell", "--cluster", fixture.Silo.Cluster);
        Assert.Equal(0, nested.ExitCode);
        Assert.Contains("Unrecognized command or argument '@", nested.Error, StringComparison.Ordinal);
        Assert.Matches(@"^\d+\.\d+\.\d+", nested.Out);

        // The exit code is the last command's; --json makes every command print JSON.
        var failing = Hopt.Run(nowhere, "status\nphase bogus --reason r\n", "shell", "--json", "--cluster", fixture.Silo.Cluster);
        Assert.Equal(2, failing.ExitCode);
        Assert.NotNull(JsonNode.Parse(failing.Out)!["config"]);
    }

    [Fact]
    public void A_cluster_command_of_its_own_is_answered_by_the_agent_in_the_callers_directory_with_its_output_and_exit_code()
    {
        // The agent's socket directory lives under the user's local data: here a directory of this test's own.
        var data = Path.Combine(fixture.Outside, "agent-data");
        var sockets = Path.Combine(data, "heavy-optimizer", "agents");
        var env = new Dictionary<string, string> { ["XDG_DATA_HOME"] = data, ["HOPT_CLUSTER"] = fixture.Silo.Cluster };
        Hopt.Outcome Ask(params string[] args) => Hopt.Run(env, null, args);
        var log = new ConcurrentQueue<string>();
        using var agent = Hopt.Start(log.Enqueue, env, "agent");
        try
        {
            SiloProcess.UntilLogged(log, "answer here");
            Assert.False(OperatingSystem.IsWindows(), "the agent runs on Unix");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(sockets));
            }

            var status = Ask("status");
            Assert.True(status.ExitCode == 0, status.Error);
            Assert.Contains("jobs today:", status.Out, StringComparison.Ordinal);
            SiloProcess.UntilLogged(log, $"ran 'status' in {Path.GetTempPath().TrimEnd('/')}: exit 0");

            var missing = Ask("job", "agent-no-such-job");
            Assert.Equal((1, "hopt: no job agent-no-such-job"), (missing.ExitCode, missing.Error.Trim()));
            SiloProcess.UntilLogged(log, "ran 'job agent-no-such-job'");

            // A relative path is the caller's: the file is read in the caller's directory (and uploaded).
            var work = Directory.CreateDirectory(Path.Combine(fixture.Outside, "agent-work")).FullName;
            WriteFile(Path.Combine(work, "mine.csv"), Some.Csv(Some.RandomMatrix(12, 20, 5)));
            var submitted = Hopt.RunIn(work, env, null, "submit", "--input", "mine.csv", "-n", "10", "--algorithms", "hc", "--job-id", "agent-relative", "--wait");
            Assert.True(submitted.ExitCode == 0, submitted.Error + submitted.Out);
            SiloProcess.UntilLogged(log, $"ran 'submit --input mine.csv -n 10 --algorithms hc --job-id agent-relative --wait' in {work}: exit 0");

            // One naming its own connection connects itself; one that comes while the agent is busy runs on its own.
            Assert.Equal(0, Ask("status", "--cluster", fixture.Silo.Cluster).ExitCode);
            var watching = new ConcurrentQueue<string>();
            using var watch = Hopt.Start(watching.Enqueue, env, "status", "--watch", "1");
            SiloProcess.UntilLogged(watching, "jobs today:");
            var meanwhile = Ask("status");
            Assert.True(meanwhile.ExitCode == 0 && meanwhile.Out.Contains("jobs today:", StringComparison.Ordinal), meanwhile.Error);
            SiloProcess.UntilLogged(log, "busy; 'status' runs on its own");

            // Ctrl+C at the caller stops the command in the agent.
            SiloProcess.Signal(watch, "INT");
            Assert.True(watch.WaitForExit(TimeSpan.FromSeconds(10)), $"Ctrl+C did not end the watch: {string.Join('|', watching)}");
            Assert.Equal(130, watch.ExitCode);
            SiloProcess.UntilLogged(log, "ran 'status --watch 1'");
            Assert.DoesNotContain(log, l => l.Contains("--cluster", StringComparison.Ordinal));

            // Ctrl+C in the agent's own terminal ends the agent, and the command it runs for a caller with it.
            var last = new ConcurrentQueue<string>();
            using var running = Hopt.Start(last.Enqueue, env, "status", "--watch", "1");
            SiloProcess.UntilLogged(last, "jobs today:");
            SiloProcess.Signal(agent, "INT");
            Assert.True(running.WaitForExit(TimeSpan.FromSeconds(10)), $"the agent's Ctrl+C did not end the command it ran: {string.Join('|', last)}");
            Assert.Equal(130, running.ExitCode);
            Assert.True(agent.WaitForExit(TimeSpan.FromSeconds(10)), $"Ctrl+C did not end the agent: {string.Join('|', log)}");
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill();
            }
        }

        Assert.Equal(130, agent.ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(sockets));
    }

    [Fact]
    public void Ctrl_c_in_the_shell_stops_the_command_running_and_the_shell_goes_on()
    {
        var lines = new ConcurrentQueue<string>();
        using var shell = Hopt.Start(lines.Enqueue, null, true, "shell", "--cluster", fixture.Silo.Cluster);
        shell.StandardInput.WriteLine("status --watch 1");
        shell.StandardInput.Flush();
        var clock = Stopwatch.StartNew();
        while (lines.Count(l => l.Contains("jobs today:", StringComparison.Ordinal)) < 2)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"status --watch 1 in the shell did not redraw twice within 30 s: {string.Join('|', lines)}");
            Thread.Sleep(50);
        }

        SiloProcess.Signal(shell, "INT");
        clock.Restart();
        while (!lines.Contains("hopt: cancelled"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Ctrl+C did not stop the watch: {string.Join('|', lines)}");
            Thread.Sleep(50);
        }

        // Longer than the two seconds after which a stuck command ends the process: the shell is still there.
        Thread.Sleep(3000);
        Assert.False(shell.HasExited, $"the shell ended with the watch: {string.Join('|', lines)}");
        var answers = lines.Count(l => l.Contains("jobs today:", StringComparison.Ordinal));

        // A command that cannot stop (its silo frozen, its call unanswered) is left behind two seconds after Ctrl+C.
        SiloProcess.Signal(fixture.Silo.Process, "STOP");
        try
        {
            shell.StandardInput.WriteLine("status");
            shell.StandardInput.Flush();
            Thread.Sleep(1000);
            SiloProcess.Signal(shell, "INT");
            clock.Restart();
            while (!lines.Any(l => l.Contains("it is left behind and the shell goes on", StringComparison.Ordinal)))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10) && !shell.HasExited, $"the stuck command was not left behind: {string.Join('|', lines)}");
                Thread.Sleep(50);
            }
        }
        finally
        {
            SiloProcess.Signal(fixture.Silo.Process, "CONT");
        }

        // The command left behind answers once the silo runs again; then one more.
        clock.Restart();
        while (lines.Count(l => l.Contains("jobs today:", StringComparison.Ordinal)) < answers + 1)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the left-behind status never answered: {string.Join('|', lines)}");
            Thread.Sleep(50);
        }

        shell.StandardInput.WriteLine("status");
        shell.StandardInput.Close();
        Assert.True(shell.WaitForExit(TimeSpan.FromSeconds(30)), "the shell did not end at the end of its input");
        shell.WaitForExit();
        Assert.Equal(0, shell.ExitCode);
        Assert.Equal(answers + 2, lines.Count(l => l.Contains("jobs today:", StringComparison.Ordinal)));
    }

    [Fact]
    public void Control_events_and_job_timings_are_logged_with_the_runbooks_words_and_full_level_names()
    {
        Assert.Equal(0, Run("rollback", "--emergency", "--reason", "log test").ExitCode);
        Assert.Equal(0, Run("phase", "dual_write", "--reason", "log test mirror").ExitCode);
        Assert.Equal(0, Run("submit", "--input", Input("logged.csv"), "-n", "10", "--max-evaluations", "100", "--job-id", "logged", "--wait").ExitCode);
        var bad = WriteFile(Path.Combine(fixture.InputRoot, "logged-bad.csv"), "Date,a,b,c,d,e,f,g,h,i,j\n2024-01-01,1,2,3,4,5,6,7,8,9,x\n2024-01-02,1,2,3,4,5,6,7,8,9,10\n");
        Assert.Equal(2, Run("submit", "--input", bad, "-n", "10", "--job-id", "logged-bad", "--wait").ExitCode);

        var log = fixture.Silo.Log();
        foreach (var expected in new[]
                 {
                     "INFO Silo silo-", "started: silo port", "clustering localhost (embedded)", "garbage collector server",
                     "INFO Migration change #", "phase dual_write by", "(log test mirror): phase heavydb_only -> dual_write",
                     "Backend heavydb primary, mirrored to parquet", "Routing 0 % of jobs to parquet", "Traffic distribution: 100 % heavydb, 0 % parquet",
                     "Dual-write on", "Backend validation on", "INFO Processing job logged on backend heavydb (secondary parquet)",
                     "INFO Backend performance of job logged on heavydb: ingest", "Backend performance of job logged on parquet",
                     "WARNING Job logged-bad failed (input):",
                 })
        {
            Assert.Contains(expected, log, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(" INF ", log, StringComparison.Ordinal);
        Assert.DoesNotContain(" ERR ", log, StringComparison.Ordinal);
    }

    /// <summary>Sends the signal and returns the exit code, which must come within two seconds.</summary>
    private static int Stopped(Process process, string signal)
    {
        var clock = Stopwatch.StartNew();
        SiloProcess.Signal(process, signal);
        var exited = process.WaitForExit(TimeSpan.FromSeconds(10));
        var seconds = clock.Elapsed.TotalSeconds;
        if (!exited)
        {
            SiloProcess.Kill(process);
        }

        Assert.True(exited && seconds < 2, $"SIG{signal}: {(exited ? $"exited after {seconds:F2} s" : "still running after 10 s")}");
        var code = process.ExitCode;
        process.Dispose();
        return code;
    }
}
