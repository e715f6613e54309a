using System.CommandLine;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Silo.Security;
using Microsoft.Extensions.Hosting;

namespace HeavyOptimizer.Silo;

/// <summary>The silo's command line, one definition for <c>hopt silo</c> (which checks it, then runs hopt-silo) and for hopt-silo itself.</summary>
public static class SiloCommandLine
{
    /// <summary>What a silo is, as its help says.</summary>
    public const string Description = "Run a silo of the cluster until stopped (Ctrl+C or SIGTERM hands running jobs back)";

    /// <summary><paramref name="command"/> (hopt's <c>silo</c>, or hopt-silo's root command) with the silo's options and the action that runs it.</summary>
    public static T Configure<T>(T command) where T : Command
    {
        ArgumentNullException.ThrowIfNull(command);
        var embedded = new Option<bool>("--embedded") { Description = "One machine: localhost clustering, grain state in SQLite under the data directory (the default)" };
        var siloPort = new Option<int>("--silo-port") { Description = "Silo-to-silo port", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Client gateway port", DefaultValueFactory = _ => 30000 };
        var dashboardPort = new Option<int>("--dashboard-port") { Description = "Orleans Dashboard port (http://127.0.0.1:PORT/dashboard)", DefaultValueFactory = _ => 8080 };
        var dataDir = new Option<string?>("--data-dir") { Description = $"State, stores, output and logs (default ${DataDirectories.EnvironmentVariable} or {DataDirectories.Default})" };
        var gpu = new Option<string>("--gpu") { Description = "GPU of this silo: auto (detect through ILGPU), on, off", DefaultValueFactory = _ => "auto" };
        var heavydb = new Option<string?>("--heavydb") { Description = $"HeavyDB engine: embedded or heavydb://user:password@host:6274/db (a password here shows in ps: prefer ${HostSecrets.HeavyDbUrlFileVariable} or $HEAVYDB_URL)" };
        var postgres = new Option<string?>("--postgres") { Description = $"Cluster mode: the PostgreSQL connection string (visible in ps: prefer ${HostSecrets.PostgresVariable} or --postgres-file)" };
        var postgresFile = new Option<string?>("--postgres-file") { Description = "Cluster mode: a private file (mode 600) holding the PostgreSQL connection string" };
        var certs = new Option<string?>("--certs") { Description = "The folder hopt certs init wrote: mutual TLS and roles (required in cluster mode unless --insecure)" };
        var insecure = new Option<bool>("--insecure") { Description = "Cluster mode without TLS and identities: anyone reaching the gateway may change the migration (logged as a warning)" };
        var dashboardAddress = new Option<string>("--dashboard-address") { Description = "Address the dashboard listens on (default loopback; put an authenticating proxy in front to expose it)", DefaultValueFactory = _ => "127.0.0.1" };
        var address = new Option<string>("--address") { Description = "Address this silo advertises to the others in cluster mode", DefaultValueFactory = _ => "127.0.0.1" };
        var watchdog = new Option<int>("--watchdog") { Description = "Seconds between checks that bring back jobs whose silo died", DefaultValueFactory = _ => 60 };
        var maxJobs = new Option<int?>("--max-jobs") { Description = "Jobs this silo runs at once; the rest wait in the cluster's queue (default from its cores and memory, at most 4)" };
        var webhook = new Option<string?>("--webhook") { Description = "POST alerts (automatic rollbacks, refused guards, aborted rollouts, failure bursts, backends down) as JSON to this http(s) URL" };
        var share = new Option<string?>("--share") { Description = "Serve the legacy file-drop share at DIR (jobs/queue -> processing -> completed|failed, input/, output/; several silos may serve one)" };
        var inputRoots = new Option<string[]>("--input-root")
        {
            Description = "A folder jobs may read their input from, besides <data-dir>/input (repeatable); every silo of a cluster should name the same",
            AllowMultipleArgumentsPerToken = false,
        };
        foreach (var option in new Option[] { embedded, postgres, postgresFile, certs, insecure, siloPort, gatewayPort, dashboardPort, dashboardAddress, address, dataDir, gpu, heavydb, watchdog, maxJobs, share, webhook, inputRoots })
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            var connection = parse.GetValue(embedded) ? null : HostSecrets.Postgres(parse.GetValue(postgres), parse.GetValue(postgresFile));
            if (parse.GetValue(embedded) && (parse.GetValue(postgres) ?? parse.GetValue(postgresFile)) is not null)
            {
                throw new ArgumentException("--embedded and --postgres: choose one");
            }

            if (parse.GetValue(insecure) && parse.GetValue(certs) is not null)
            {
                throw new ArgumentException("--insecure and --certs: choose one");
            }

            foreach (var warning in new[] { HostSecrets.CommandLineWarning("--postgres", parse.GetValue(postgres)), HostSecrets.CommandLineWarning("--heavydb", parse.GetValue(heavydb)) })
            {
                if (warning is not null)
                {
                    Console.Error.WriteLine(warning);
                }
            }

            if (parse.GetValue(watchdog) is < 1 or > 3600)
            {
                throw new ArgumentException($"--watchdog {parse.GetValue(watchdog)}: expected 1..3600 seconds");
            }

            if (parse.GetValue(maxJobs) is < 1 or > 1024)
            {
                throw new ArgumentException($"--max-jobs {parse.GetValue(maxJobs)}: expected 1..1024 jobs at once");
            }

            var options = new SiloHostOptions
            {
                MaxJobs = parse.GetValue(maxJobs),
                Share = parse.GetValue(share),
                Webhook = parse.GetValue(webhook),
                Postgres = connection,
                CertificatesDirectory = parse.GetValue(certs),
                Insecure = parse.GetValue(insecure),
                DashboardAddress = parse.GetValue(dashboardAddress)!,
                Address = parse.GetValue(address)!,
                Watchdog = TimeSpan.FromSeconds(parse.GetValue(watchdog)),
                SiloPort = parse.GetValue(siloPort),
                GatewayPort = parse.GetValue(gatewayPort),
                DashboardPort = parse.GetValue(dashboardPort),
                DataDirectory = parse.GetValue(dataDir) ?? DataDirectories.Default,
                Gpu = parse.GetValue(gpu)!,
                HeavyDbUrl = HostSecrets.HeavyDbUrl(parse.GetValue(heavydb)),
                InputRoots = parse.GetValue(inputRoots) ?? [],
            };
            using var host = await SiloHost.BuildAsync(options, cancellation);
            await host.RunAsync(cancellation);
            return ExitCodes.Success;
        }));
        return command;
    }
}
