using System.Runtime.InteropServices;

namespace HeavyOptimizer.Admin;

/// <summary>
/// <c>hopt silo</c> runs the silo host program, hopt-silo, installed beside hopt: the silo wants the server garbage
/// collector (throughput, a heap per core) and the console the workstation one (it starts fast and stays small), and a
/// process's collector is fixed when it starts. On Linux hopt becomes hopt-silo (execve: the same process id,
/// environment and open files, so signals and supervisors see one process); elsewhere, or where that fails, the silo
/// runs inside hopt, and Orleans' start-up note about the collector says so.
/// </summary>
internal static partial class SiloExecutable
{
    private const string Name = "hopt-silo";

    /// <summary>Replaces this process with hopt-silo given <paramref name="siloArguments"/>; returns only when it could not.</summary>
    public static void Become(IReadOnlyList<string> siloArguments)
    {
        if (!OperatingSystem.IsLinux() || Environment.ProcessPath is not { } self)
        {
            return;
        }

        // The way hopt itself was started (dotnet hopt.dll, or the hopt launcher) starts hopt-silo too.
        string[] program = Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? [self, Path.Combine(AppContext.BaseDirectory, $"{Name}.dll")]
            : [Path.Combine(AppContext.BaseDirectory, Name)];
        if (!File.Exists(program[^1]))
        {
            return;
        }

        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}");
        Execve(program[0], [.. program, .. siloArguments, null], [.. environment, null]);
    }

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execve(string path, string?[] argv, string?[] envp);
}
