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
        var postgres = new Option<string?>("--postgres") { Description = "Cluster mode: membership, grain state and reminders in this PostgreSQL database, e.g. \"Host=db;Username=hopt;Password=...;Database=hopt\"" };
        var address = new Option<string>("--address") { Description = "Address this silo advertises to the others in cluster mode", DefaultValueFactory = _ => "127.0.0.1" };
        var watchdog = new Option<int>("--watchdog") { Description = "Seconds between checks that bring back jobs whose silo died", DefaultValueFactory = _ => 60 };
        var inputRoots = new Option<string[]>("--input-root")
        {
            Description = "A folder jobs may read their input from, besides <data-dir>/input (repeatable); every silo of a cluster should name the same",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("silo", "Run a silo of the cluster until stopped (Ctrl+C or SIGTERM hands running jobs back)")
        {
            embedded, postgres, siloPort, gatewayPort, dashboardPort, address, dataDir, gpu, heavydb, watchdog, inputRoots,
        };
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            if (parse.GetValue(embedded) && parse.GetValue(postgres) is not null)
            {
                throw new ArgumentException("--embedded and --postgres: choose one");
            }

            if (parse.GetValue(watchdog) is < 1 or > 3600)
            {
                throw new ArgumentException($"--watchdog {parse.GetValue(watchdog)}: expected 1..3600 seconds");
            }

            var options = new SiloHostOptions
            {
                Postgres = parse.GetValue(postgres),
                Address = parse.GetValue(address)!,
                Watchdog = TimeSpan.FromSeconds(parse.GetValue(watchdog)),
                SiloPort = parse.GetValue(siloPort),
                GatewayPort = parse.GetValue(gatewayPort),
                DashboardPort = parse.GetValue(dashboardPort),
                DataDirectory = parse.GetValue(dataDir) ?? DataDirectories.Default,
                Gpu = parse.GetValue(gpu)!,
                HeavyDbUrl = parse.GetValue(heavydb),
                InputRoots = parse.GetValue(inputRoots) ?? [],
            };
            using var host = await SiloHost.BuildAsync(options, cancellation);
            await host.RunAsync(cancellation);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Database()
    {
        var provider = new Option<string>("--provider") { Description = "sqlite (embedded) or postgres (cluster mode)", DefaultValueFactory = _ => "sqlite" };
        provider.AcceptOnlyFromAmong(DatabaseSchema.Providers);
        var connection = new Option<string>("--connection")
        {
            Description = "Connection string, e.g. \"Data Source=/srv/hopt/cluster.db\" or \"Host=db;Username=hopt;Password=...;Database=hopt\"",
            Required = true,
        };
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
