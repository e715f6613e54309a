using HeavyOptimizer.Admin;

return await Cli.Build().Parse(args).InvokeAsync();
