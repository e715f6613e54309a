using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Tests.Shared;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// Chaos with a history check, for real: three `hopt silo` processes on one PostgreSQL database, `hopt load` submitting
/// 100 jobs through the client library, and a silo killed outright (SIGKILL) twice, each time started again. Then the
/// history is checked from both sides: the load generator saw every acknowledged job end, none lost and none finished
/// twice; in the database each job has one Completed row and one outcome, the controller counted exactly as many
/// outcomes as jobs completed, and every job's run directory is complete (its manifest verifies). Needs
/// <c>HOPT_TEST_POSTGRES</c>.
/// </summary>
public sealed class ChaosTests : IDisposable
{
    private const int Jobs = 100;
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<string, (Process Process, string[] Arguments)> _silos = [];
    private string? _database;

    public void Dispose()
    {
        foreach (var silo in _silos.Values)
        {
            SiloProcess.Kill(silo.Process);
        }

        _dir.Dispose();
        if (_database is not null)
        {
            TestPostgres.DropDatabase(_database);
        }
    }

    [SkippableFact]
    public async Task Every_acknowledged_job_completes_exactly_once_while_silos_are_killed()
    {
        _database = TestPostgres.CreateDatabase();
        Assert.Equal(0, Hopt.Run("db", "init", "--provider", "postgres", "--connection", _database).ExitCode);
        foreach (var name in new[] { "a", "b", "c" })
        {
            StartSilo(name);
        }

        SiloProcess.UntilActive(_database, 3, _silos.Values.Select(s => s.Process));
        var input = _dir.File("chaos.csv", Some.Csv(Some.RandomMatrix(120, 40, 77)));
        var lines = new ConcurrentQueue<string>();
        using var load = Hopt.Start(lines.Enqueue, "load", "--cluster", _database, "--jobs", $"{Jobs}", "--concurrency", "12", "--input", input,
            "-n", "10", "--max-evaluations", "3000", "--algorithms", "sa,ga", "--job-prefix", "chaos-", "--json");

        // Two rounds: wait a while, then kill the silo recorded as running a job at that moment, and start it again.
        var random = new Random(5);
        for (var round = 0; round < 2; round++)
        {
            await Task.Delay(TimeSpan.FromSeconds(6 + random.Next(5)));
            var victim = await SiloRunningAJobAsync();
            _silos[victim].Process.Kill(entireProcessTree: true);
            await _silos[victim].Process.WaitForExitAsync();
            StartSilo(victim);
            SiloProcess.UntilActive(_database, 3, _silos.Values.Select(s => s.Process));
        }

        Assert.True(await Task.Run(() => load.WaitForExit(TimeSpan.FromMinutes(8))), "hopt load did not finish in 8 minutes");
        load.WaitForExit();
        var output = string.Join('\n', lines);
        Assert.True(load.ExitCode == 0, $"hopt load exited {load.ExitCode}: {output}");
        var summary = JsonNode.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..])!;
        Assert.Equal((Jobs, Jobs, Jobs, 0, 0), ((int)summary["acknowledged"]!, (int)summary["completed"]!, (int)summary["jobs"]!,
            summary["lost"]!.AsArray().Count, summary["duplicated"]!.AsArray().Count));

        // The history as the database holds it.
        Assert.Equal(Jobs, Count("SELECT count(*) FROM hopt_jobs WHERE job_id LIKE 'chaos-%' AND state = 'Completed'"));
        Assert.Equal(Jobs, Count("SELECT count(*) FROM hopt_outcomes WHERE job_id LIKE 'chaos-%'"));
        Assert.Equal(Jobs, Count("SELECT count(*) FROM hopt_outcomes"));
        // A queue row can outlive its job for a moment (a brief second activation after a kill may enqueue it again);
        // the next slot to take it finds the job finished and drops it, so the queue empties within a lease.
        var emptying = Stopwatch.StartNew();
        while (Count("SELECT count(*) FROM hopt_queue") > 0)
        {
            Assert.True(emptying.Elapsed < TimeSpan.FromSeconds(75), $"left in the queue: {TestPostgres.Scalar(_database, "SELECT string_agg(job_id || ' ' || coalesce(silo, '-'), '; ') FROM hopt_queue")}");
            await Task.Delay(500);
        }
        var status = JsonNode.Parse(Hopt.Run("status", "--cluster", _database, "--json").Out)!;
        Assert.Equal(Jobs, (long)status["jobs_recorded"]!);
        var retried = 0;
        for (var i = 0; i < Jobs; i++)
        {
            var job = JsonNode.Parse(Hopt.Run("job", $"chaos-{i:D6}", "--cluster", _database, "--json").Out)!;
            var run = (string)job["result"]!["run_directory"]!;
            Assert.True(Core.Output.RunWriter.Verify(run, out var problem), $"chaos-{i:D6}: {run}: {problem}");
            retried += (int)job["attempts"]! > 1 ? 1 : 0;
        }

        Assert.True(retried > 0, "no job was ever interrupted by a kill: the test proved nothing");
    }

    /// <summary>The silo that a job's record names as running it now (polled: between two jobs no job may be running).</summary>
    private async Task<string> SiloRunningAJobAsync()
    {
        var polling = Stopwatch.StartNew();
        while (polling.Elapsed < TimeSpan.FromMinutes(1))
        {
            if (TestPostgres.Scalar(_database!, "SELECT status::json->>'Silo' FROM hopt_jobs WHERE state = 'Running' AND job_id LIKE 'chaos-%' LIMIT 1") is string running
                && _silos.Keys.FirstOrDefault(k => running.Contains($":{_silos[k].Arguments[Array.IndexOf(_silos[k].Arguments, "--silo-port") + 1]}:", StringComparison.Ordinal)) is { } name)
            {
                return name;
            }

            await Task.Delay(20);
        }

        throw new InvalidOperationException("no chaos job was recorded as running for a minute");
    }

    private long Count(string sql) => Convert.ToInt64(TestPostgres.Scalar(_database!, sql), System.Globalization.CultureInfo.InvariantCulture);

    private void StartSilo(string name)
    {
        var arguments = _silos.TryGetValue(name, out var earlier)
            ? earlier.Arguments
            : ["--postgres", _database!, "--insecure", "--data-dir", Path.Combine(_dir.Path, "data"), "--silo-port", $"{SiloProcess.FreePort()}",
                "--gateway-port", $"{SiloProcess.FreePort()}", "--dashboard-port", $"{SiloProcess.FreePort()}", "--gpu", "off", "--heavydb", "embedded",
                "--watchdog", "2", "--max-jobs", "2", "--input-root", _dir.Path];
        _silos[name] = (SiloProcess.Start(arguments), arguments);
    }
}
