using System.CommandLine;
using HeavyOptimizer.Admin.Commands;
using HeavyOptimizer.Silo;

namespace HeavyOptimizer.Admin;

/// <summary>The <c>hopt</c> command tree.</summary>
internal static class Cli
{
    /// <summary>An invocation that leaves Ctrl+C and SIGTERM to the command (<see cref="ConsoleSignals"/>).</summary>
    public static readonly InvocationConfiguration OwnSignals = new() { ProcessTerminationTimeout = null };

    /// <summary>
    /// The exit code of a command line that does not parse, after saying why in one line (bad input, 2; for
    /// <c>health</c>, "unknown", 3, since a monitor reads its code), or null when it parses.
    /// </summary>
    public static int? Rejected(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.Errors.Count == 0)
        {
            return null;
        }

        var first = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
        // The command's whole path (hopt rollout pause), not only its own name.
        var path = new List<string>();
        for (var result = parse.CommandResult; result is { Command: not RootCommand }; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            path.Insert(0, result.Command.Name);
        }

        Console.Error.WriteLine($"hopt: error: {ParserMessages.Describe(first.Message)} (see: hopt {string.Join(' ', path)} --help)".Replace("  ", " ", StringComparison.Ordinal));
        return parse.CommandResult.Command.Name == "health" ? HealthCommand.Unknown : ExitCodes.BadInput;
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("hopt: the Heavy Optimizer admin console")
        {
            OptimizeCommand.Create(),
            SampleCommand.Create(),
            DatasetCommand.Create(),
            SiloCommandLine.Configure(new Command("silo", SiloCommandLine.Description)),
            DatabaseCommand.Create(),
            QuickstartCommand.Create(),
            HeavyDbStandInCommand.Create(),
            CertsCommand.Create(),
            ShellCommand.Create(),
            AgentCommand.Create(),
        };
        foreach (var command in ClusterCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }
}
