using System.Diagnostics;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// One `hopt silo` in a process of its own, embedded (SQLite) or in cluster mode (PostgreSQL, with the certificates of
/// <see cref="Certificates"/>: mutual TLS and roles), on free ports, and the console commands run against it as the
/// operator <c>tester</c>. Stop kills it outright; Start brings it back on the same ports and data.
/// </summary>
internal sealed class RunningSilo(string dataDirectory, string? postgres = null, params string[] extra) : IDisposable
{
    /// <summary>In cluster mode: the folder of `hopt certs init` (made once per silo folder) with an operator named tester.</summary>
    public string Certificates { get; } = Path.Combine(dataDirectory + "-certs");

    /// <summary>The identity console commands present in cluster mode.</summary>
    public string? Identity => postgres is null ? null : Path.Combine(Certificates, "operator-tester.pfx");

    private readonly int _siloPort = SiloProcess.FreePort();
    private readonly int _gatewayPort = SiloProcess.FreePort();
    private Process? _process;

    public int DashboardPort { get; } = SiloProcess.FreePort();

    /// <summary>The silo's process while it runs.</summary>
    public Process Process => _process ?? throw new InvalidOperationException("the silo is not running");

    public string DataDirectory { get; } = dataDirectory;

    /// <summary>What --cluster names: the gateway, or in cluster mode the database.</summary>
    public string Cluster => postgres ?? $"127.0.0.1:{_gatewayPort}";

    public Hopt.Outcome Run(params string[] args) => Hopt.Run([.. args, "--cluster", Cluster, .. Identity is null ? Array.Empty<string>() : ["--identity", Identity]]);

    /// <summary>Starts the silo and waits until it answers <c>hopt status</c>.</summary>
    public RunningSilo Start()
    {
        if (postgres is not null && !File.Exists(Identity))
        {
            var certs = Hopt.Run("certs", "init", "--out", Certificates, "--operator", "tester");
            Assert.True(certs.ExitCode == 0, certs.Error);
        }

        string[] store = postgres is null ? ["--embedded"] : ["--postgres", postgres, "--certs", Certificates];
        _process = SiloProcess.Start([.. store, "--data-dir", DataDirectory, "--silo-port", $"{_siloPort}", "--gateway-port", $"{_gatewayPort}",
            "--dashboard-port", $"{DashboardPort}", "--gpu", "off", "--watchdog", "2", .. extra.Contains("--heavydb") ? extra : ["--heavydb", "embedded", .. extra]]);
        var clock = Stopwatch.StartNew();
        Hopt.Outcome status;
        while ((status = Run("status", "--json")).ExitCode != 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"the silo did not answer within 90 s: {status.Error}");
            Assert.False(_process.HasExited, $"the silo exited with {(_process.HasExited ? _process.ExitCode : 0)}");
        }

        return this;
    }

    public void Stop()
    {
        if (_process is not null)
        {
            SiloProcess.Kill(_process);
        }

        _process = null;
    }

    /// <summary>Everything the silo has logged to its files so far.</summary>
    public string Log() => string.Join('\n', Directory.GetFiles(Path.Combine(DataDirectory, "logs"), "job_processor_*.log").Select(ReadShared));

    public void Dispose() => Stop();

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }
}
