using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// <c>hopt shell</c>: cluster commands read one per line, from a terminal or a script, all over the one connection the
/// shell made, so each answers without starting a client of its own (the most of a command's second). A line is a
/// command as it would follow <c>hopt</c> (a leading <c>hopt</c> is allowed; words with spaces in double quotes);
/// blank lines and lines starting with <c>#</c> are skipped; <c>exit</c>, <c>quit</c> or the end of the input ends the
/// shell, with the exit code of its last command. Only cluster commands run here (the others start processes, servers
/// or long computations of their own). Ctrl+C stops the command running, not the shell (one that does not stop within
/// two seconds is left behind); at the prompt, Ctrl+C or SIGTERM ends the shell (130).
/// </summary>
internal static class ShellCommand
{
    /// <summary>A line's words are its own: no <c>@file</c> brings in others (a nested shell, a silo).</summary>
    private static readonly ParserConfiguration Lines = new() { ResponseFileTokenReplacer = null };

    public static Command Create() => ClusterCommands.ClusterCommand("shell",
        "Run cluster commands read one per line (a terminal or a script) over one connection, so each answers at once",
        [], async (parse, client, json, stop) =>
        {
            var root = Cli.Build();
            var interactive = !Console.IsInputRedirected;
            var last = ExitCodes.Success;
            while (true)
            {
                if (interactive)
                {
                    await Console.Error.WriteAsync("hopt> ");
                }

                // Read on a thread of its own: a read from a terminal cannot be cancelled, a wait for it can.
                var line = await Task.Run(Console.In.ReadLine, CancellationToken.None).WaitAsync(stop);
                if (line is null || line.Trim() is "exit" or "quit")
                {
                    return last;
                }

                var words = CommandLineParser.SplitCommandLine(line).ToList();
                if (words is ["hopt", ..])
                {
                    words.RemoveAt(0);
                }

                if (words.Count == 0 || words[0].StartsWith('#'))
                {
                    continue;
                }

                if (json && !words.Contains("--json"))
                {
                    words.Add("--json");
                }

                last = await RunAsync("shell", root, words, stop, CancellationToken.None);
                stop.ThrowIfCancellationRequested();
            }
        }, shares: true);

    /// <summary>
    /// Runs one cluster command line over the connection of <paramref name="host"/> (shell or agent): <paramref name="shell"/> ending first
    /// means it never starts; <paramref name="cancel"/> stops it as Ctrl+C does.
    /// </summary>
    internal static async Task<int> RunAsync(string host, RootCommand root, List<string> words, CancellationToken shell, CancellationToken cancel)
    {
        var parse = root.Parse(words, Lines);
        if (Cli.Rejected(parse) is { } rejected)
        {
            return rejected;
        }

        var command = parse.CommandResult.Command;
        if (parse.Action is not HelpAction && command is not RootCommand && (command.Name is "shell" or "agent" || !ClusterCommands.ReachesCluster(command)))
        {
            Console.Error.WriteLine($"hopt: error: hopt {host} runs cluster commands only; run 'hopt {string.Join(' ', words.TakeWhile(w => !w.StartsWith('-')))}' on its own");
            return ExitCodes.BadInput;
        }

        // A command that does not stop within two seconds of Ctrl+C is left to finish on its own; the shell goes on.
        var abandoned = new CancellationTokenSource();
        ConsoleSignals.GiveUp = abandoned.Cancel;
        // Ctrl+C from here on is the command's, even before the command's own handling of it has started.
        using var signals = new ConsoleSignals(cancel);
        try
        {
            if (shell.IsCancellationRequested)
            {
                // Ctrl+C came after the line was read and before it was the command's: it is the shell's, and the command never runs.
                return ExitCodes.Cancelled;
            }

            return await parse.InvokeAsync(Cli.OwnSignals, signals.Token).WaitAsync(abandoned.Token);
        }
        catch (OperationCanceledException) when (abandoned.IsCancellationRequested)
        {
            Console.Error.WriteLine("hopt: cancelled (the command did not stop; it is left behind and the shell goes on)");
            return ExitCodes.Cancelled;
        }
        finally
        {
            ConsoleSignals.GiveUp = null;
        }
    }
}
