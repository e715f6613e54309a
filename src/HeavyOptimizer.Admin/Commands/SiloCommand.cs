using System.CommandLine;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Silo;
using Microsoft.Extensions.Hosting;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt silo</c> runs a silo; <c>hopt db init</c> applies the state database schema.</summary>
internal static class SiloCommand
{
    public static Command Create()
    {
        var embedded = new Option<bool>("--embedded") { Description = "One machine: localhost clustering, grain state in SQLite under the data directory (the default)" };
        var siloPort = new Option<int>("--silo-port") { Description = "Silo-to-silo port", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Client gateway port", DefaultValueFactory = _ => 30000 };
        var dashboardPort = new Option<int>("--dashboard-port") { Description = "Orleans Dashboard port (http://127.0.0.1:PORT/dashboard)", DefaultValueFactory = _ => 8080 };
        var dataDir = new Option<string?>("--data-dir") { Description = $"State, stores, output and logs (default ${DataDirectories.EnvironmentVariable} or {DataDirectories.Default})" };
        var gpu = new Option<string>("--gpu") { Description = "GPU of this silo: auto (detect through ILGPU), on, off", DefaultValueFactory = _ => "auto" };
        var heavydb = new Option<string?>("--heavydb") { Description = "HeavyDB engine: embedded or heavydb://user:password@host:6274/db" };
        var command = new Command("silo", "Run a silo of the cluster until stopped (Ctrl+C or SIGTERM hands running jobs back)") { embedded, siloPort, gatewayPort, dashboardPort, dataDir, gpu, heavydb };
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            var options = new SiloHostOptions
            {
                SiloPort = parse.GetValue(siloPort),
                GatewayPort = parse.GetValue(gatewayPort),
                DashboardPort = parse.GetValue(dashboardPort),
                DataDirectory = parse.GetValue(dataDir) ?? DataDirectories.Default,
                Gpu = parse.GetValue(gpu)!,
                HeavyDbUrl = parse.GetValue(heavydb),
            };
            using var host = await SiloHost.BuildAsync(options, cancellation);
            await host.RunAsync(cancellation);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Database()
    {
        var provider = new Option<string>("--provider") { Description = "sqlite (PostgreSQL comes with cluster mode)", DefaultValueFactory = _ => "sqlite" };
        var connection = new Option<string>("--connection") { Description = "Connection string, e.g. \"Data Source=/srv/hopt/cluster.db\"", Required = true };
        var init = new Command("init", "Create or update the cluster's state schema (idempotent)") { provider, connection };
        init.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            await DatabaseSchema.ApplyAsync(parse.GetValue(provider)!, parse.GetValue(connection)!, cancellation);
            Console.WriteLine($"schema applied ({parse.GetValue(provider)})");
            return ExitCodes.Success;
        }));
        return new Command("db", "The cluster's state database") { init };
    }
}
