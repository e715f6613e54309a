using System.CommandLine;
using HeavyOptimizer.Admin.Commands;

namespace HeavyOptimizer.Admin;

/// <summary>The <c>hopt</c> command tree.</summary>
internal static class Cli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("hopt: the Heavy Optimizer admin console")
        {
            OptimizeCommand.Create(),
            SampleCommand.Create(),
            DatasetCommand.Create(),
            SiloCommand.Create(),
            SiloCommand.Database(),
            QuickstartCommand.Create(),
            HeavyDbStandInCommand.Create(),
        };
        foreach (var command in ClusterCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }
}
