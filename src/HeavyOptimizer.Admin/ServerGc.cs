using System.Runtime;
using System.Runtime.InteropServices;

namespace HeavyOptimizer.Admin;

/// <summary>
/// A silo wants the server garbage collector (throughput, a heap per core), the console the workstation one (it
/// starts fast and stays small). The collector is chosen when a process starts, so <c>hopt silo</c> under the
/// workstation collector replaces itself (execve: same process id, arguments and environment, so signals and
/// supervisors see one process) with the same command and <c>DOTNET_gcServer=1</c>. Where that cannot be done
/// (Windows, or execve refused) it runs on as it is, and Orleans' start-up note says so.
/// </summary>
internal static partial class ServerGc
{
    private const string Variable = "DOTNET_gcServer";

    public static void EnsureFor(string[] args)
    {
        if (args is not ["silo", ..] || GCSettings.IsServerGC || !OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) == "1"
            || Environment.ProcessPath is not { } program)
        {
            return;
        }

        // The exact argv this process was started with (dotnet hopt.dll silo ..., or hopt silo ...).
        var argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k != Variable).Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}").Append($"{Variable}=1");
        Execve(program, [.. argv, null], [.. environment, null]);
        // Only reached when execve failed: run on under the workstation collector.
    }

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execve(string path, string?[] argv, string?[] envp);
}
