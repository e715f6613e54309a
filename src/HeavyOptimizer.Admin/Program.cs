using HeavyOptimizer.Admin;

var parse = Cli.Build().Parse(args);
var code = await parse.InvokeAsync();
// An unknown option or a value outside its choices is bad input (2), like every other error the commands report.
return parse.Errors.Count > 0 ? ExitCodes.BadInput : code;
