using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>`hopt silo` in a process of its own, as an operator starts it; its output is drained and dropped.</summary>
internal static class SiloProcess
{
    public static Process Start(params string[] siloArguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "hopt.dll"), "silo", .. siloArguments])
        {
            start.ArgumentList.Add(arg);
        }

        var silo = Process.Start(start)!;
        silo.OutputDataReceived += (_, _) => { };
        silo.ErrorDataReceived += (_, _) => { };
        silo.BeginOutputReadLine();
        silo.BeginErrorReadLine();
        return silo;
    }

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

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
