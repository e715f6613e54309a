using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Tests.Shared;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// Who may do what, for real: a cluster-mode silo (PostgreSQL, reached through a private file) with the certificates of
/// `hopt certs init`, a HeavyDB-protocol stand-in whose password comes from a private file, and the console as an
/// operator, a submitter, a stranger and someone from another CA. Secrets are planted in the database password and
/// the HeavyDB URL; after every error path the test can reach, none of them appears anywhere a user or an operator can
/// look. Needs <c>HOPT_TEST_POSTGRES</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecurityTests : IDisposable
{
    private const string PlantedPostgres = "Pg-Planted-7f3a91";
    private const string PlantedHeavyDb = "Hdb-Planted-42c0de";
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _seen = new();
    private string? _database;
    private string? _role;

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            SiloProcess.Kill(process);
        }

        if (_database is not null)
        {
            TestPostgres.DropDatabase(_database);
        }

        if (_role is not null)
        {
            TestPostgres.Scalar(Environment.GetEnvironmentVariable(TestPostgres.Variable)!, $"DROP ROLE IF EXISTS {_role}");
        }

        _dir.Dispose();
    }

    private string Private(string name, string content)
    {
        var path = Path.Combine(_dir.Path, name);
        Abstractions.SecretFiles.WritePrivate(path, System.Text.Encoding.UTF8.GetBytes(content));
        return path;
    }

    private Hopt.Outcome Run(params string[] args)
    {
        var outcome = Hopt.Run(args);
        _seen.Enqueue(outcome.Out);
        _seen.Enqueue(outcome.Error);
        return outcome;
    }

    [SkippableFact]
    public async Task Only_the_cas_identities_connect_roles_are_enforced_in_the_silo_audits_name_them_and_no_secret_shows()
    {
        // PostgreSQL under a role whose password is planted, given to silos and console only through private files.
        _database = TestPostgres.CreateDatabase();
        _role = $"hopt_sec_{Guid.NewGuid():N}"[..20];
        var admin = Environment.GetEnvironmentVariable(TestPostgres.Variable)!;
        TestPostgres.Scalar(admin, $"CREATE ROLE {_role} LOGIN PASSWORD '{PlantedPostgres}'");
        TestPostgres.Scalar(_database, $"GRANT ALL ON SCHEMA public TO {_role}");
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(_database) { Username = _role, Password = PlantedPostgres }.ConnectionString;
        var pgFile = Private("postgres.conn", connection);
        Assert.Equal(0, Run("db", "init", "--provider", "postgres", "--connection-file", pgFile).ExitCode);

        var certs = Path.Combine(_dir.Path, "certs");
        Assert.Equal(0, Run("certs", "init", "--out", certs, "--operator", "alice", "--submitter", "bob", "--submitter", "carol").ExitCode);
        Assert.Equal(0, Run("certs", "init", "--out", Path.Combine(_dir.Path, "elsewhere"), "--operator", "mallory").ExitCode);
        Assert.All(Directory.GetFiles(certs, "*.pfx"), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));

        // Cluster mode will not start open, and will not read a secret others can read.
        string[] silo = ["silo", "--postgres-file", pgFile, "--data-dir", Path.Combine(_dir.Path, "data"), "--gpu", "off", "--watchdog", "2",
            "--silo-port", $"{SiloProcess.FreePort()}", "--gateway-port", $"{SiloProcess.FreePort()}", "--dashboard-port", $"{SiloProcess.FreePort()}", "--input-root", _dir.Path];
        var open = Run(silo);
        Assert.Equal(2, open.ExitCode);
        Assert.Contains("cluster mode needs --certs DIR", open.Error, StringComparison.Ordinal);
        var shared = Path.Combine(_dir.Path, "shared.conn");
        File.Copy(pgFile, shared);
        File.SetUnixFileMode(shared, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Contains("can be read by others", Run([.. silo.Select(a => a == pgFile ? shared : a), "--certs", certs]).Error, StringComparison.Ordinal);

        // The HeavyDB-protocol stand-in, its password planted; the silo reads its URL from a private file.
        var (binary, http) = (SiloProcess.FreePort(), SiloProcess.FreePort());
        var standInLines = new ConcurrentQueue<string>();
        _processes.Add(Hopt.Start(standInLines.Enqueue, new Dictionary<string, string> { ["HEAVYDB_STANDIN_PASSWORD"] = PlantedHeavyDb },
            "heavydb-standin", "--port", $"{binary}", "--http-port", $"{http}", "--data-dir", Path.Combine(_dir.Path, "standin")));
        var heavyFile = Private("heavydb.url", $"heavydb://admin:{PlantedHeavyDb}@127.0.0.1:{binary}/heavyai?protocol=binary");
        var siloLines = new ConcurrentQueue<string>();
        _processes.Add(Hopt.Start(siloLines.Enqueue, new Dictionary<string, string> { ["HEAVYDB_URL_FILE"] = heavyFile }, [.. silo, "--certs", certs]));

        var clusterFile = Private("cluster.conn", connection);
        string[] As(string who) => ["--cluster-file", clusterFile, "--identity", Path.Combine(who.EndsWith("mallory", StringComparison.Ordinal) ? Path.Combine(_dir.Path, "elsewhere") : certs, $"{who}.pfx")];
        var clock = Stopwatch.StartNew();
        while (Run(["status", .. As("operator-alice")]).ExitCode != 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90) && !_processes[^1].HasExited, $"the silo did not answer: {string.Join('|', siloLines.TakeLast(5))}");
        }

        // Without a certificate, or with another CA's, there is no connection at all.
        var stranger = Run("status", "--cluster-file", clusterFile);
        Assert.Equal(1, stranger.ExitCode);
        Assert.Contains("give your certificate", stranger.Error, StringComparison.Ordinal);
        var otherCa = Run(["status", .. As("operator-mallory")]);
        Assert.True(otherCa.ExitCode == 1, otherCa.Error);

        // A submitter submits, watches and reads; every migration change and every replay is refused, and audited.
        var input = Path.Combine(_dir.Path, "jobs.csv");
        File.WriteAllText(input, Some.Csv(Some.RandomMatrix(60, 20, 5)));
        var submitted = Run(["submit", "--input", input, "-n", "10", "--max-evaluations", "100", "--job-id", "bobs-job", "--wait", "--json", .. As("submitter-bob")]);
        Assert.True(submitted.ExitCode == 0, submitted.Error);
        Assert.Equal(("completed", "heavydb", "bob"), ((string)JsonNode.Parse(submitted.Out)!["state"]!, (string)JsonNode.Parse(submitted.Out)!["result"]!["backend"]!, (string)JsonNode.Parse(submitted.Out)!["owner"]!));
        Assert.Equal(0, Run(["status", .. As("submitter-bob")]).ExitCode);
        foreach (var change in new[] { new[] { "phase", "dual_write" }, ["rollback", "--emergency"], ["traffic", "50"], ["checkpoint", "mine"] })
        {
            var refused = Run([.. change, "--reason", "try", "--who", "alice", .. As("submitter-bob")]);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("refused: bob (submitter) may not call MigrationController.", refused.Error, StringComparison.Ordinal);
        }

        // A submitter cancels only its own jobs.
        Assert.Equal(0, Run(["submit", "--input", input, "-n", "10", "--time-limit", "30", "--job-id", "bobs-long", .. As("submitter-bob")]).ExitCode);
        var notHers = Run(["cancel", "bobs-long", .. As("submitter-carol")]);
        Assert.Equal(2, notHers.ExitCode);
        Assert.Contains("carol (submitter) may not cancel bobs-long: it is bob's job", notHers.Error, StringComparison.Ordinal);
        Assert.Equal(0, Run(["cancel", "bobs-long", .. As("submitter-bob")]).ExitCode);

        // An operator's change is audited under the certificate's name, whatever --who claims.
        var changed = Run(["phase", "dual_write", "--reason", "start mirroring", "--who", "ops-lead", "--json", .. As("operator-alice")]);
        Assert.True(changed.ExitCode == 0, changed.Error);
        var audit = JsonNode.Parse(Run(["audit", "--json", .. As("operator-alice")]).Out)!.AsArray();
        var phase = audit.Single(a => (string)a!["action"]! == "phase dual_write")!;
        Assert.Equal(("alice", "claimed: ops-lead"), ((string)phase["who"]!, (string)phase["note"]!));
        Assert.Equal(4, audit.Count(a => ((string)a!["action"]!).StartsWith("refused: MigrationController.", StringComparison.Ordinal) && (string)a["who"]! == "bob"));
        Assert.Single(audit, a => (string)a!["action"]! == "refused: Job.Cancel" && (string)a["who"]! == "carol");

        // A flood of refused calls is one audit entry a minute per caller and kind, the rest counted into the next.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(2, Run(["traffic", "60", "--reason", "again", .. As("submitter-bob")]).ExitCode);
        }

        audit = JsonNode.Parse(Run(["audit", "--json", .. As("operator-alice")]).Out)!.AsArray();
        Assert.Single(audit, a => (string)a!["action"]! == "refused: MigrationController.SetTraffic");

        // A person's certificate is refused on the silo-to-silo port (the gateway is the clients' door), the refusal
        // names the certificate; a submitter may reach the cluster by a gateway address alone; the CA's key beside
        // the silo's certificate is warned about.
        var siloPortOnly = Run("status", "--cluster", $"127.0.0.1:{silo[Array.IndexOf(silo, "--silo-port") + 1]}", "--identity", Path.Combine(certs, "submitter-bob.pfx"));
        Assert.Equal(1, siloPortOnly.ExitCode);
        SiloProcess.UntilLogged(siloLines, "TLS connection refused: certificate CN=bob, OU=submitter");
        Assert.Contains(siloLines, l => l.Contains("TLS connection refused: certificate CN=bob, OU=submitter", StringComparison.Ordinal) && l.Contains("silo-to-silo port", StringComparison.Ordinal));
        var byGateway = Run("status", "--cluster", $"127.0.0.1:{silo[Array.IndexOf(silo, "--gateway-port") + 1]}", "--identity", Path.Combine(certs, "submitter-bob.pfx"));
        Assert.True(byGateway.ExitCode == 0, byGateway.Error);
        var reader = $"hopt_ro_{Guid.NewGuid():N}"[..20];
        TestPostgres.Scalar(admin, $"CREATE ROLE {reader} LOGIN PASSWORD 'reader-pass'");
        TestPostgres.Scalar(_database, $"GRANT SELECT ON orleansquery, orleansmembershiptable, orleansmembershipversiontable TO {reader}");
        var readOnly = Private("reader.conn", new Npgsql.NpgsqlConnectionStringBuilder(_database) { Username = reader, Password = "reader-pass" }.ConnectionString);
        var byMembership = Run("status", "--cluster-file", readOnly, "--identity", Path.Combine(certs, "submitter-bob.pfx"));
        TestPostgres.Scalar(_database, $"REVOKE ALL ON orleansquery, orleansmembershiptable, orleansmembershipversiontable FROM {reader}");
        TestPostgres.Scalar(admin, $"DROP ROLE {reader}");
        Assert.True(byMembership.ExitCode == 0, byMembership.Error);
        Assert.Contains(siloLines, l => l.Contains("The CA's private key (ca-key.pem) is in the silo's certificate folder", StringComparison.Ordinal));

        // Names the audit uses for the cluster itself, and one name in two roles, are refused.
        Assert.Contains("reserved", Run("certs", "init", "--out", certs, "--operator", "controller").Error, StringComparison.Ordinal);
        Assert.Contains("already a operator name", Run("certs", "init", "--out", certs, "--submitter", "alice").Error, StringComparison.Ordinal);
        var status = JsonNode.Parse(Run(["status", "--json", .. As("operator-alice")]).Out)!;
        Assert.StartsWith("mutual TLS", (string)status["security"]!, StringComparison.Ordinal);

        // Error paths that name connections, URLs and files: a bad ini, a missing cluster file, a job over a broken file.
        var ini = Path.Combine(_dir.Path, "bad.ini");
        File.WriteAllText(ini, "[SYSTEM]\nmigration_phase = nowhere\n[MIGRATION]\n");
        Assert.Equal(2, Run(["config", "import", ini, "--reason", "typo", .. As("operator-alice")]).ExitCode);
        Assert.Equal(2, Run("status", "--cluster-file", Path.Combine(_dir.Path, "missing.conn"), "--identity", Path.Combine(certs, "operator-alice.pfx")).ExitCode);
        File.WriteAllText(Path.Combine(_dir.Path, "broken.csv"), "Date,a,b,c,d,e,f,g,h,i,j\n2024-01-01,1,2,3,4,5,6,7,8,9,x\n2024-01-02,1,2,3,4,5,6,7,8,9,10\n");
        Assert.Equal(2, Run(["submit", "--input", Path.Combine(_dir.Path, "broken.csv"), "-n", "10", "--job-id", "broken", "--wait", .. As("submitter-carol")]).ExitCode);
        var replay = Run(["replay", "--failed", "--include-input-errors", .. As("submitter-bob")]);
        Assert.Equal(2, replay.ExitCode);
        Assert.Contains("operators only", replay.Error, StringComparison.Ordinal);
        Run(["jobs", "--json", .. As("operator-alice")]);
        Run(["job", "bobs-job", "--json", .. As("operator-alice")]);
        Run(["config", "export", .. As("operator-alice")]);
        var siloPort = silo[Array.IndexOf(silo, "--dashboard-port") + 1];
        using var web = new HttpClient();
        foreach (var page in new[] { "/dashboard/", "/dashboard/ClusterStats", "/dashboard/Reminders", "/dashboard/DashboardCounters" })
        {
            var response = await web.GetAsync(new Uri($"http://127.0.0.1:{siloPort}{page}"));
            _seen.Enqueue(await response.Content.ReadAsStringAsync());
        }

        // Nothing anyone can read shows a planted secret: command output, the silo's and the stand-in's logs, the
        // dashboard, every run directory the jobs wrote.
        var files = Directory.GetFiles(Path.Combine(_dir.Path, "data"), "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".log", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".txt", StringComparison.Ordinal) || f.EndsWith(".md", StringComparison.Ordinal))
            .Select(File.ReadAllText);
        foreach (var text in _seen.Concat(siloLines).Concat(standInLines).Concat(files))
        {
            Assert.DoesNotContain(PlantedPostgres, text, StringComparison.Ordinal);
            Assert.DoesNotContain(PlantedHeavyDb, text, StringComparison.Ordinal);
        }
    }
}
