using System.CommandLine;
using HeavyOptimizer.Silo;

// hopt-silo [options]: the silo host program, under the server garbage collector (its runtimeconfig says so).
// `hopt silo [options]` checks the same command line and then becomes this program (same process id).
var parse = SiloCommandLine.Configure(new RootCommand(SiloCommandLine.Description)).Parse(args);
if (parse.Errors.Count > 0)
{
    Console.Error.WriteLine($"hopt-silo: error: {ParserMessages.Describe(parse.Errors[0].Message)} (see: hopt-silo --help)");
    return ExitCodes.BadInput;
}

return await parse.InvokeAsync();
