using System.Diagnostics;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Client;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// Cluster mode for real: two `hopt silo --postgres` processes sharing a PostgreSQL database, and the client library
/// finding them through that database. One silo is killed outright while running a job; the client's calls ride out
/// the time until it is declared dead, and the job completes on the other silo. Needs <c>HOPT_TEST_POSTGRES</c>.
/// </summary>
public sealed class ClusterModeTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<int, Process> _silos = [];
    private string? _database;

    public void Dispose()
    {
        foreach (var silo in _silos.Values)
        {
            SiloProcess.Kill(silo);
        }

        _dir.Dispose();
        if (_database is not null)
        {
            TestPostgres.DropDatabase(_database);
        }
    }

    [SkippableFact]
    public async Task A_killed_silo_s_job_completes_on_the_other_and_the_client_rides_out_the_gap()
    {
        _database = TestPostgres.CreateDatabase();
        Assert.Equal(0, Hopt.Run("db", "init", "--provider", "postgres", "--connection", _database).ExitCode);
        StartSilo("a");
        StartSilo("b");
        SiloProcess.UntilActive(_database, 2, _silos.Values);
        var clock = Stopwatch.StartNew();

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.AddHeavyOptimizerClient(o =>
        {
            o.Cluster = _database;
            o.Identity = Silo.Security.ClusterCertificates.LoadIdentity(Path.Combine(Certificates, "operator-tester.pfx"));
            o.Authority = Silo.Security.ClusterCertificates.LoadAuthority(Path.Combine(Certificates, "ca.pem"));
        });
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IHeavyOptimizerClient>();

        var input = _dir.File("jobs.csv", Some.Csv(Some.RandomMatrix(150, 40, 31)));
        var ids = Enumerable.Range(0, 6).Select(i => $"cm-{i}").ToArray();
        foreach (var id in ids)
        {
            await client.SubmitAsync(id, new JobSpec { InputPath = input, PortfolioSize = 10, TimeLimitSeconds = 6, Algorithms = "sa,ga" });
        }

        JobStatus? victim = null;
        while (victim is null)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(150), "no job started");
            victim = (await Task.WhenAll(ids.Select(id => client.GetAsync(id)))).FirstOrDefault(s => s is { State: JobState.Running });
        }

        var port = int.Parse(victim.Silo!.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        _silos[port].Kill(entireProcessTree: true); // outright: no graceful hand-back

        // Every call below goes to a cluster one of whose silos is dead but not yet declared so: none may throw.
        var finished = new List<JobStatus>();
        foreach (var id in ids)
        {
            while (await client.GetAsync(id) is not { IsFinished: true } done)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(4), $"{id} did not finish within 4 minutes");
                await Task.Delay(500);
            }

            finished.Add((await client.GetAsync(id))!);
        }

        Assert.All(finished, s => Assert.Equal(JobState.Completed, s.State));
        var resumed = finished.Single(s => s.JobId == victim.JobId);
        Assert.True(resumed.Attempts >= 2, $"attempts {resumed.Attempts}");
        Assert.DoesNotContain($":{port}:", resumed.Silo, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Two_silos_share_one_data_directory_and_both_run_heavydb_embedded_jobs_while_dataset_inspect_reads_it()
    {
        _database = TestPostgres.CreateDatabase();
        Assert.Equal(0, Hopt.Run("db", "init", "--provider", "postgres", "--connection", _database).ExitCode);
        StartSilo("shared");
        StartSilo("shared");
        SiloProcess.UntilActive(_database, 2, _silos.Values);
        var clock = Stopwatch.StartNew();

        // Sixteen files, so that both silos ingest into the one embedded engine file at once.
        var ids = Enumerable.Range(0, 16).Select(i => $"shared-{i:D2}").ToArray();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var input = _dir.File($"shared-{i}.csv", Some.Csv(Some.RandomMatrix(40, 30, 100 + (ulong)i)));
            var submitted = Hopt.Run(["submit", "--input", input, "-n", "10", "--max-evaluations", "200", "--job-id", id, .. AsTester]);
            Assert.True(submitted.ExitCode == 0, submitted.Error);
        }

        var inspected = Hopt.Run("dataset", "inspect", "--backend", "heavydb", "--heavydb", "embedded", "--data-dir", Path.Combine(_dir.Path, "shared"), "--json");
        Assert.True(inspected.ExitCode == 0, inspected.Error);
        var finished = ids.Select(id =>
        {
            while (true)
            {
                var job = System.Text.Json.Nodes.JsonNode.Parse(Hopt.Run(["job", id, "--json", .. AsTester]).Out)!;
                if ((string)job["state"]! is "completed" or "failed")
                {
                    return job;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(4), $"{id} did not finish");
            }
        }).ToList();

        Assert.All(finished, j => Assert.Equal(("completed", "heavydb"), ((string)j["state"]!, (string)j["result"]!["backend"]!)));
        Assert.Equal(2, finished.Select(j => (string)j["silo"]!).Distinct().Count());
        var listed = Hopt.Run("dataset", "inspect", "--backend", "heavydb", "--heavydb", "embedded", "--data-dir", Path.Combine(_dir.Path, "shared"), "--json");
        Assert.Equal(16, System.Text.Json.Nodes.JsonNode.Parse(listed.Out)!.AsArray().Count);
    }

    /// <summary>The cluster's certificates (mutual TLS between the silos and with clients), with an operator named tester.</summary>
    private string Certificates
    {
        get
        {
            var certs = Path.Combine(_dir.Path, "certs");
            if (!Directory.Exists(certs))
            {
                Assert.Equal(0, Hopt.Run("certs", "init", "--out", certs, "--operator", "tester").ExitCode);
            }

            return certs;
        }
    }

    private string[] AsTester => ["--cluster", _database!, "--identity", Path.Combine(Certificates, "operator-tester.pfx")];

    private void StartSilo(string name)
    {
        var (siloPort, gatewayPort, dashboardPort) = (SiloProcess.FreePort(), SiloProcess.FreePort(), SiloProcess.FreePort());
        _silos[siloPort] = SiloProcess.Start("--postgres", _database!, "--certs", Certificates, "--data-dir", Path.Combine(_dir.Path, name),
            "--silo-port", $"{siloPort}", "--gateway-port", $"{gatewayPort}", "--dashboard-port", $"{dashboardPort}",
            "--gpu", "off", "--heavydb", "embedded", "--watchdog", "2", "--input-root", _dir.Path);
    }
}
