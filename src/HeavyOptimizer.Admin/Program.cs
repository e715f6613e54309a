using HeavyOptimizer.Admin;

var parse = Cli.Build().Parse(args);
if (Cli.Rejected(parse) is { } rejected)
{
    return rejected;
}

if (args is ["silo", .. var silo] && parse.Action is not System.CommandLine.Help.HelpAction)
{
    // A silo runs as its own program, hopt-silo (server garbage collector), once its command line is known to be good.
    SiloExecutable.Become(silo);
}

// A running hopt agent answers a cluster command at once (no client to start here); without one it runs here.
if (await HeavyOptimizer.Admin.Commands.AgentCommand.ForwardAsync(args, parse) is { } answered)
{
    return answered;
}

// Cluster commands take Ctrl+C and SIGTERM themselves (ConsoleSignals): the parser's own termination handling stays
// off for them, so a shell's Ctrl+C is only ever its command's.
return await parse.InvokeAsync(HeavyOptimizer.Admin.Commands.ClusterCommands.ReachesCluster(parse.CommandResult.Command) ? Cli.OwnSignals : null);
