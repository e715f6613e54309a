using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>`hopt silo` in a process of its own, as an operator starts it; the last lines it printed are kept for failure messages.</summary>
internal static class SiloProcess
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Process, System.Collections.Concurrent.ConcurrentQueue<string>> Outputs = new();

    public static Process Start(params string[] siloArguments)
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = Hopt.Start(line =>
        {
            lines.Enqueue(line);
            while (lines.Count > 40 && lines.TryDequeue(out _))
            {
            }
        }, ["silo", .. siloArguments]);
        Outputs.Add(process, lines);
        return process;
    }

    /// <summary>The last lines <paramref name="silo"/> printed (for a failure message).</summary>
    public static string Tail(Process silo) => Outputs.TryGetValue(silo, out var lines) ? string.Join('\n', lines) : "(no output kept)";

    /// <summary>Kills the silo outright (no graceful shutdown) and waits for it to be gone.</summary>
    public static void Kill(Process silo)
    {
        if (!silo.HasExited)
        {
            silo.Kill(entireProcessTree: true);
            silo.WaitForExit();
        }

        silo.Dispose();
    }

    /// <summary>Sends <paramref name="signal"/> (INT, TERM) to the process, as Ctrl+C or systemd would.</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {process.Id}");
        kill.WaitForExit();
    }

    /// <summary>Waits until <paramref name="count"/> silos are active in the membership table of <paramref name="database"/>; fails when one of <paramref name="silos"/> exits first.</summary>
    public static void UntilActive(string database, int count, IEnumerable<Process> silos, TimeSpan? within = null)
    {
        var clock = Stopwatch.StartNew();
        while (Convert.ToInt64(HeavyOptimizer.Tests.Shared.TestPostgres.Scalar(database, "SELECT count(*) FROM OrleansMembershipTable WHERE Status = 3"), System.Globalization.CultureInfo.InvariantCulture) < count)
        {
            Assert.True(clock.Elapsed < (within ?? TimeSpan.FromSeconds(120)), $"{count} silos did not become active within {(within ?? TimeSpan.FromSeconds(120)).TotalSeconds:F0} s");
            Assert.All(silos, s => Assert.False(s.HasExited, s.HasExited ? $"a silo exited with {s.ExitCode}; its last output:\n{Tail(s)}" : string.Empty));
            Thread.Sleep(250);
        }
    }

    /// <summary>
    /// Waits until one of <paramref name="lines"/> contains <paramref name="fragment"/>: a silo's console logger writes
    /// from its own queue, so a line may arrive after the effect it reports is already visible.
    /// </summary>
    public static void UntilLogged(IEnumerable<string> lines, string fragment, TimeSpan? within = null)
    {
        var clock = Stopwatch.StartNew();
        while (!lines.Any(l => l.Contains(fragment, StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < (within ?? TimeSpan.FromSeconds(20)), $"nothing logged '{fragment}'; the last lines: {string.Join('|', lines.TakeLast(8))}");
            Thread.Sleep(100);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
