using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Output;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Tests.Shared;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// A real silo (`hopt silo`) in its own process, embedded (state in SQLite) or in cluster mode (membership, state and
/// reminders in PostgreSQL), driven by the admin commands through the client library; then killed mid-job and started
/// again to show the state survived and the job's watchdog reminder brought it back. The PostgreSQL case needs a server:
/// <c>HOPT_TEST_POSTGRES</c> names one (an administrator's connection string; `.ci/run` starts one and sets it); where it
/// is unset, that case reports itself skipped.
/// </summary>
public sealed class ClusterCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private RunningSilo? _silo;
    private string? _postgres;

    public void Dispose()
    {
        _silo?.Dispose();
        _dir.Dispose();
        if (_postgres is not null)
        {
            TestPostgres.DropDatabase(_postgres);
        }
    }

    private Hopt.Outcome Run(params string[] args) => _silo!.Run(args);

    /// <summary>Embedded: nothing to prepare. Postgres: a fresh database with the schema applied by `hopt db init`.</summary>
    private void Start(string store)
    {
        if (store == "postgres")
        {
            _postgres = TestPostgres.CreateDatabase();
            var init = Hopt.Run("db", "init", "--provider", "postgres", "--connection", _postgres);
            Assert.True(init.ExitCode == 0, init.Error);
        }

        _silo = new RunningSilo(Path.Combine(_dir.Path, "data"), _postgres, "--input-root", _dir.Path).Start();
    }

    [SkippableTheory]
    [InlineData("embedded")]
    [InlineData("postgres")]
    public async Task Migration_commands_and_jobs_work_end_to_end_and_survive_a_silo_restart(string store)
    {
        Start(store);
        var input = _dir.File("jobs.csv", Some.Csv(Some.RandomMatrix(80, 30, 11)));

        var phase = Run("phase", "dual_write", "--reason", "start mirroring", "--who", "alice", "--json");
        Assert.True(phase.ExitCode == 0, phase.Error);
        Assert.Equal("dual_write", (string)JsonNode.Parse(phase.Out)!["after"]!["phase"]!);

        var refused = Run("phase", "cut_over", "--reason", "too early");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("clean dual-write jobs", refused.Error, StringComparison.Ordinal);

        var submit = Run("submit", "--input", input, "-n", "10", "--max-evaluations", "400", "--job-id", "cli-job-1", "--wait", "--json");
        Assert.True(submit.ExitCode == 0, submit.Error);
        var job = JsonNode.Parse(submit.Out)!;
        Assert.Equal("completed", (string)job["state"]!);
        Assert.True((bool)job["consistency"]!["passed"]!);
        Assert.Equal(["passed", "passed", "passed", "passed"], job["consistency"]!["comparisons"]!.AsArray().Select(c => (string)c!["verdict"]!));
        Assert.True(File.Exists(Path.Combine((string)job["result"]!["run_directory"]!, "manifest.json")));

        // A file only this machine has goes with the job (kept in the cluster's state store).
        var uploaded = JsonNode.Parse(Run("submit", "--input", _dir.File("local.csv", Some.Csv(Some.RandomMatrix(40, 20, 14))), "--upload",
            "-n", "10", "--max-evaluations", "200", "--job-id", "cli-upload", "--wait", "--json").Out)!;
        Assert.Equal("completed", (string)uploaded["state"]!);
        Assert.StartsWith("upload:", (string)uploaded["spec"]!["input_path"]!, StringComparison.Ordinal);

        // A job over a broken file fails on its input (exit 2); replay leaves it alone until asked, and once the file is
        // fixed, replaying it on Parquet succeeds.
        var late = _dir.File("late.csv", "Date,a,b,c,d,e,f,g,h,i,j\n2024-01-01,1,2,3,4,5,6,7,8,9,x\n2024-01-02,1,2,3,4,5,6,7,8,9,10\n");
        var lost = Run("submit", "--input", late, "-n", "10", "--max-evaluations", "200", "--job-id", "cli-late", "--wait", "--json");
        Assert.Equal(2, lost.ExitCode);
        Assert.Equal(("failed", "input"), ((string)JsonNode.Parse(lost.Out)!["state"]!, (string)JsonNode.Parse(lost.Out)!["cause"]!));
        Assert.Contains("replayed 0 job(s)", Run("replay", "--failed").Out, StringComparison.Ordinal);
        File.WriteAllText(late, Some.Csv(Some.RandomMatrix(50, 20, 12)));
        var replay = Run("replay", "--failed", "--include-input-errors", "--backend", "parquet", "--json");
        Assert.True(replay.ExitCode == 0, replay.Error);
        var replayId = (string)JsonNode.Parse(replay.Out)!.AsArray().Single()!["job_id"]!;
        Assert.StartsWith("cli-late-replay-", replayId, StringComparison.Ordinal);
        Assert.Contains("1 already replayed", Run("replay", "--failed", "--include-input-errors").Out, StringComparison.Ordinal);
        var replayed = await WaitForJob(replayId);
        Assert.Equal(("completed", "parquet", "cli-late"), ((string)replayed["state"]!, (string)replayed["result"]!["backend"]!, (string)replayed["spec"]!["replay_of"]!));

        // Output lost after the fact (the gap detect_and_replay_gaps.py looked for): found, replayed, and then closed.
        File.Delete(Path.Combine((string)job["result"]!["run_directory"]!, "manifest.json"));
        Assert.Contains("would replay cli-job-1 (completed, output missing or incomplete", Run("replay", "--missing-output", "--dry-run").Out, StringComparison.Ordinal);
        var refillId = (string)JsonNode.Parse(Run("replay", "--missing-output", "--json").Out)!.AsArray().Single()!["job_id"]!;
        var refilled = await WaitForJob(refillId);
        Assert.True(RunWriter.Verify((string)refilled["result"]!["run_directory"]!, out var problem), problem);
        Assert.Contains("replayed 0 job(s); 1 already replayed", Run("replay", "--missing-output").Out, StringComparison.Ordinal);

        Assert.Equal(0, Run("checkpoint", "1.1", "--reason", "dual-write healthy").ExitCode);
        Assert.Equal(0, Run("phase", "cut_over", "--force", "--reason", "test the cut-over").ExitCode);
        Assert.Equal(0, Run("traffic", "25", "--reason", "prepare cut-over").ExitCode);
        Assert.Equal(0, Run("rollback", "--emergency", "--reason", "drill").ExitCode);

        Assert.Contains("migration_phase = heavydb_only", Run("config", "export").Out, StringComparison.Ordinal);
        var ini = _dir.File("production_config.ini", "[SYSTEM]\nmigration_phase = dual_write  # back to mirroring\n[MIGRATION]\nenable_dual_write = true\nworkers = 4\n");
        var unknown = Run("config", "import", ini, "--reason", "operators' ini");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("line 5: unknown key workers in [MIGRATION]", unknown.Error, StringComparison.Ordinal);
        var imported = Run("config", "import", ini, "--allow-unknown", "--reason", "operators' ini");
        Assert.True(imported.ExitCode == 0, imported.Error);
        Assert.Contains("note: line 5: unknown key workers in [MIGRATION]: skipped", imported.Error, StringComparison.Ordinal);

        // Killed mid-job: after the restart nobody asks after the job (only the registry is listed), yet it completes.
        var slow = _dir.File("slow.csv", Some.Csv(Some.RandomMatrix(150, 40, 13)));
        Assert.Equal(0, Run("submit", "--input", slow, "-n", "10", "--time-limit", "6", "--job-id", "cli-resumed").ExitCode);
        var clock = Stopwatch.StartNew();
        while (!Run("job", "cli-resumed").Out.Contains("Running", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the job did not start within 60 s");
        }

        _silo!.Stop();
        _silo.Start();
        clock.Restart();
        while (!Run("jobs", "--state", "Completed").Out.Contains("cli-resumed", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), "the interrupted job did not complete within 120 s of the restart");
        }

        var resumed = JsonNode.Parse(Run("job", "cli-resumed", "--json").Out)!;
        Assert.Equal(("completed", 2), ((string)resumed["state"]!, (int)resumed["attempts"]!));
        Assert.True((bool)resumed["consistency"]!["passed"]!);
        Assert.Equal(["passed", "passed", "not_compared", "not_compared"], resumed["consistency"]!["comparisons"]!.AsArray().Select(c => (string)c!["verdict"]!));

        var audit = JsonNode.Parse(Run("audit", "--json").Out)!.AsArray();
        Assert.Equal(["phase dual_write", "checkpoint 1.1", "phase cut_over (forced)", "traffic 25", "emergency rollback", "import settings"], audit.Select(a => (string)a!["action"]!));
        // Embedded, the audit can only take the claim (and says so); in cluster mode it names the certificate.
        Assert.Equal(store == "postgres" ? ("tester", "claimed: alice") : ("alice", "unauthenticated"), ((string)audit[0]!["who"]!, (string)audit[0]!["note"]!));
        var status = JsonNode.Parse(Run("status", "--json").Out)!;
        Assert.Equal("dual_write", (string)status["config"]!["phase"]!);
        Assert.True((bool)status["config"]!["dual_write"]!);
        Assert.Equal(1, (int)status["dual_write_jobs"]!);
        Assert.True((int)status["jobs_today"]!["completed"]! >= 5 && (int)status["jobs_today"]!["failed"]! >= 1, status.ToJsonString());
        Assert.True(RunWriter.Verify((string)status["latest_run"]!, out _));
        var again = JsonNode.Parse(Run("job", "cli-job-1", "--json").Out)!;
        Assert.Equal(("completed", 1), ((string)again["state"]!, (int)again["attempts"]!));
        Assert.Contains("cli-job-1", Run("jobs", "--state", "Completed").Out, StringComparison.Ordinal);
        using var http = new HttpClient();
        var dashboard = await http.GetAsync(new Uri($"http://127.0.0.1:{_silo.DashboardPort}/dashboard/"));
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("html", await dashboard.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        // Every job finished, so none still holds a watchdog reminder.
        const string reminders = "SELECT count(*) FROM OrleansRemindersTable";
        Assert.Equal(0L, _postgres is null ? SqliteScalar(Path.Combine(_dir.Path, "data", "cluster.db"), reminders) : TestPostgres.Scalar(_postgres, reminders));
        Assert.Contains("Processing job cli-job-1", _silo.Log(), StringComparison.Ordinal);
    }

    [Fact]
    public void Quickstart_runs_one_job_on_an_embedded_silo_and_prints_the_dashboard_address()
    {
        var dashboardPort = SiloProcess.FreePort();
        var outcome = Hopt.Run("quickstart", "--data-dir", Path.Combine(_dir.Path, "qs"), "--time-limit", "1",
            "--silo-port", $"{SiloProcess.FreePort()}", "--gateway-port", $"{SiloProcess.FreePort()}", "--dashboard-port", $"{dashboardPort}");

        Assert.True(outcome.ExitCode == 0, outcome.Error + outcome.Out);
        Assert.Contains(": Completed on heavydb (migration phase heavydb_only, config v0)", outcome.Out, StringComparison.Ordinal);
        Assert.Contains($"dashboard: http://127.0.0.1:{dashboardPort}/dashboard", outcome.Out, StringComparison.Ordinal);
        var run = outcome.Out.Split('\n').Single(l => l.StartsWith("run directory: ", StringComparison.Ordinal))["run directory: ".Length..].Trim();
        Assert.True(File.Exists(Path.Combine(run, "manifest.json")));
    }

    [Fact]
    public void Commands_without_a_cluster_fail_with_a_clear_line()
    {
        var outcome = Hopt.Run("status", "--cluster", $"127.0.0.1:{SiloProcess.FreePort()}");
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("cannot reach the cluster", outcome.Error, StringComparison.Ordinal);
        Assert.Single(outcome.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private async Task<JsonNode> WaitForJob(string id)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var job = JsonNode.Parse(Run("job", id, "--json").Out)!;
            if ((string)job["state"]! is "completed" or "failed" or "cancelled")
            {
                return job;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"{id} did not finish within 90 s");
            await Task.Delay(200);
        }
    }

    private static object? SqliteScalar(string database, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
