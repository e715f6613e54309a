using HeavyOptimizer.Admin;

ServerGc.EnsureFor(args);
var parse = Cli.Build().Parse(args);
if (parse.Errors.Count > 0)
{
    // An unknown option or a value that does not parse is bad input (2), said in one line like every other error.
    var first = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
    Console.Error.WriteLine($"hopt: error: {Cli.Describe(first.Message)} (see: hopt {string.Join(' ', parse.CommandResult.Command.Name == "hopt" ? [] : [parse.CommandResult.Command.Name])} --help)".Replace("  ", " ", StringComparison.Ordinal));
    // A monitor reads health's exit code: a command line it cannot run is "unknown" (3), never "unhealthy" (2).
    return parse.CommandResult.Command.Name == "health" ? HeavyOptimizer.Admin.Commands.HealthCommand.Unknown : ExitCodes.BadInput;
}

return await parse.InvokeAsync();
