using System.Diagnostics;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>Runs the built console (hopt.dll beside the tests) as a separate process, as a user would.</summary>
internal static class Hopt
{
    public sealed record Outcome(int ExitCode, string Out, string Error);

    public static Outcome Run(params string[] args) => Run(null, args);

    /// <summary>Runs hopt with <paramref name="environment"/> added to this process's environment.</summary>
    public static Outcome Run(IReadOnlyDictionary<string, string>? environment, params string[] args) => Run(environment, null, args);

    /// <summary>Runs hopt with <paramref name="input"/> as its standard input (then closed) and <paramref name="environment"/> added.</summary>
    public static Outcome Run(IReadOnlyDictionary<string, string>? environment, string? input, params string[] args) => RunIn(Path.GetTempPath(), environment, input, args);

    /// <summary>The same, in the working directory <paramref name="directory"/>.</summary>
    public static Outcome RunIn(string directory, IReadOnlyDictionary<string, string>? environment, string? input, params string[] args)
    {
        var start = StartInfo(args, environment);
        start.WorkingDirectory = directory;
        start.RedirectStandardInput = input is not null;
        using var process = Process.Start(start)!;
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"hopt {string.Join(' ', args)} did not finish in 3 minutes");
        }

        return new Outcome(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Starts a long-running command (a silo, a watch) and hands each line it prints, on stdout or stderr, to <paramref name="output"/>.</summary>
    public static Process Start(Action<string> output, params string[] args) => Start(output, null, args);

    /// <summary>The same, with <paramref name="environment"/> added to this process's environment.</summary>
    public static Process Start(Action<string> output, IReadOnlyDictionary<string, string>? environment, params string[] args) => Start(output, environment, false, args);

    /// <summary>The same, with its standard input a pipe the caller writes to (<see cref="Process.StandardInput"/>) when <paramref name="input"/>.</summary>
    public static Process Start(Action<string> output, IReadOnlyDictionary<string, string>? environment, bool input, params string[] args)
    {
        var start = StartInfo(args, environment);
        start.RedirectStandardInput = input;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static ProcessStartInfo StartInfo(string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "hopt.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return start;
    }
}
