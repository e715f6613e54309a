using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>`hopt silo` in a process of its own, as an operator starts it; its output is dropped.</summary>
internal static class SiloProcess
{
    public static Process Start(params string[] siloArguments) => Hopt.Start(_ => { }, ["silo", .. siloArguments]);

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

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
