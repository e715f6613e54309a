using System.Net;
using HeavyOptimizer.Backends.Parquet;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Dashboard;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using System.Security.Cryptography.X509Certificates;
using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Jobs;
using HeavyOptimizer.Grains.Security;
using HeavyOptimizer.Silo.Security;
using Orleans.Connections.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Metrics;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace HeavyOptimizer.Silo;

/// <summary>
/// Builds and runs one silo: embedded (localhost clustering, grain state and reminders in SQLite under the data
/// directory) or cluster mode (clustering, grain state and reminders in PostgreSQL); Serilog, the Dashboard, the grains.
/// </summary>
public static class SiloHost
{
    /// <summary>The cluster and service id every silo and client of an installation shares.</summary>
    public const string ClusterId = "heavy-optimizer";

    /// <summary>Where the dashboard of a silo run with <paramref name="options"/> answers.</summary>
    public static string DashboardUrl(SiloHostOptions options) => $"http://{options.DashboardAddress}:{options.DashboardPort}/dashboard";

    /// <summary>Builds the host (not started).</summary>
    public static async Task<IHost> BuildAsync(SiloHostOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Directory.CreateDirectory(options.DataDirectory);
        DatabaseSchema.RegisterProviders();
        var (provider, state) = options.Postgres is { } postgres ? ("postgres", postgres) : ("sqlite", $"Data Source={options.StateDatabase}");
        await DatabaseSchema.ApplyAsync(provider, state, cancellation);
        var invariant = DatabaseSchema.InvariantOf(provider);
        var gpu = options.Gpu switch
        {
            "on" => true,
            "off" => false,
            "auto" => StrategyMetricsKernels.CudaAvailable(),
            _ => throw new ArgumentException($"--gpu {options.Gpu}: expected auto, on or off"),
        };

        // Jobs search on thread-pool threads, all cores at a time; without spare threads ready, the silo's own work
        // (messages, membership probes, status reads) waits seconds for the pool to grow, and a busy silo looks dead.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16 + 4 * Environment.ProcessorCount), io);

        var security = Security(options, out var siloCertificate);
        var tlsLog = new TlsLog();
        // A URL that cannot work fails the start, not every job later as a "backend fault".
        if ((options.HeavyDbUrl ?? Environment.GetEnvironmentVariable(Backends.HeavyDb.HeavyDbConnection.EnvironmentVariable)) is { Length: > 0 } heavydb
            && !heavydb.Equals("embedded", StringComparison.OrdinalIgnoreCase))
        {
            Backends.HeavyDb.HeavyDbConnection.Parse(heavydb);
        }

        var builder = WebApplication.CreateBuilder();
        Settings(builder.Configuration, builder.Services);
        if (options.Webhook is { } webhook)
        {
            builder.Services.Configure<Grains.Observability.AlertOptions>(o => o.Webhook = webhook);
        }

        builder.WebHost.UseUrls($"http://{options.DashboardAddress}:{options.DashboardPort}");
        builder.Services.AddSerilog(new LoggerConfiguration()
            .Enrich.With<LevelNames>()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Orleans", Serilog.Events.LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft", Serilog.Events.LogEventLevel.Warning)
            .MinimumLevel.Override("Polly", Serilog.Events.LogEventLevel.Warning)
            .WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss} {LevelName} {Message:lj}{ExceptionLine:l}{NewLine}")
            .WriteTo.File(Path.Combine(options.DataDirectory, "logs", "job_processor_.log"), rollingInterval: RollingInterval.Day, shared: true,
                outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {LevelName} {Message:lj}{ExceptionLine:l}{NewLine}")
            .CreateLogger(), dispose: true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.UseOrleans(silo =>
        {
            if (options.Postgres is null)
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: ClusterId, clusterId: ClusterId);
            }
            else
            {
                silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (invariant, state));
                silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ClusterId));
                silo.ConfigureEndpoints(IPAddress.Parse(options.Address), options.SiloPort, options.GatewayPort);
            }

            silo.AddAdoNetGrainStorage("hopt", o => (o.Invariant, o.ConnectionString) = (invariant, state));
            silo.UseHeavyOptimizerStore(DatabaseSchema.FactoryOf(provider), state);
            silo.UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (invariant, state));
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromTicks(Math.Min(o.MinimumReminderPeriod.Ticks, options.Watchdog.Ticks)));
            silo.Configure<SiloOptions>(o => o.SiloName = $"silo-{options.SiloPort}");
            silo.AddDashboard(_ => { });
            silo.AddHeavyOptimizerSecurity(security);
            if (siloCertificate is not null)
            {
                var authority = security.Authority!;
                // Mutual on every port: the gateway takes the CA's clients and silos; the silo port, silos only (a
                // person's certificate never reaches the silo-to-silo protocol).
                TlsOptions Tls(bool silosOnly) => new()
                {
                    LocalCertificate = siloCertificate,
                    RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
                    ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
                    RemoteCertificateValidation = (certificate, _, _) => Accept(certificate, authority, silosOnly, tlsLog),
                    OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = CallerProof.SiloUnit,
                };
                silo.Configure<SiloConnectionOptions>(c =>
                {
                    c.ConfigureSiloInboundConnection(b => b.UseServerTls(Tls(silosOnly: true)));
                    c.ConfigureGatewayInboundConnection(b => b.UseServerTls(Tls(silosOnly: false)));
                    c.ConfigureSiloOutboundConnection(b => b.UseClientTls(Tls(silosOnly: true)));
                });
            }
            if (Environment.GetEnvironmentVariable("POD_NAMESPACE") is { Length: > 0 })
            {
                // In Kubernetes: the pod's IP, name and labels name the silo and its cluster; dead pods leave membership.
                silo.UseKubernetesHosting();
            }

            silo.UseSiloMetadata(new Dictionary<string, string> { ["gpu"] = gpu ? "true" : "false" });
            silo.AddHeavyOptimizerGrains(slots: s => s.MaxConcurrentJobs = options.MaxJobs ?? s.MaxConcurrentJobs, backends: b =>
            {
                b.DataDirectory = options.DataDirectory;
                b.HeavyDbUrl = options.HeavyDbUrl;
                b.OutputRoot = options.Share is { } share ? Path.Combine(Path.GetFullPath(share), "output") : Path.Combine(options.DataDirectory, "output");
                if (options.Share is { } served)
                {
                    b.InputRoots.Add(Path.Combine(Path.GetFullPath(served), "input"));
                }

                b.Watchdog = options.Watchdog;
                foreach (var root in options.InputRoots)
                {
                    b.InputRoots.Add(Path.GetFullPath(root));
                }
            });
        });
        if (options.Share is { } root)
        {
            Share.ShareIngress.Prepare(Path.GetFullPath(root));
            builder.Services.AddOptions<Share.ShareOptions>().Bind(builder.Configuration.GetSection("Share"), Strict).Configure(o => o.Directory = Path.GetFullPath(root)).ValidateOnStart();
            builder.Services.AddSingleton<IValidateOptions<Share.ShareOptions>>(new Grains.Hosting.ProblemsValidation<Share.ShareOptions>("Share", o => o.Problems()));
            builder.Services.AddHostedService<Share.ShareIngress>();
        }

        builder.Services.AddSingleton<Web.MigrationWatch>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Web.MigrationWatch>());
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Grains.Observability.HoptInstruments.MeterName, "Microsoft.Orleans")
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        var app = builder.Build();
        app.MapOrleansDashboard("/dashboard");
        Web.MigrationEndpoints.Map(app);
        app.MapPrometheusScrapingEndpoint("/metrics");
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("HeavyOptimizer.Silo");
        tlsLog.Logger = log;
        var roots = app.Services.GetRequiredService<IOptions<BackendHostOptions>>().Value.AllInputRoots;
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            log.LogInformation(
                "Silo {Silo} started: silo port {SiloPort}, gateway port {GatewayPort}, address {Address}, clustering {Clustering}, state in {State}, GPU {Gpu}, data under {Data}, input roots {Roots}, dashboard {Dashboard} (migration page /migration, metrics /metrics), alerts {Alerts}, security {Security}, garbage collector {Collector}",
                $"silo-{options.SiloPort}", options.SiloPort, options.GatewayPort, options.Postgres is null ? "127.0.0.1" : options.Address,
                options.Postgres is null ? "localhost (embedded)" : "ADO.NET on PostgreSQL", options.Postgres is null ? $"SQLite {options.StateDatabase}" : "PostgreSQL",
                gpu ? "yes (gpu=true)" : "no (gpu=false)", options.DataDirectory, string.Join(", ", roots), DashboardUrl(options),
                app.Services.GetRequiredService<IOptions<Grains.Observability.AlertOptions>>().Value.Webhook is { Length: > 0 } hook && new Uri(hook) is var uri ? $"logged and posted to {uri.Scheme}://{uri.Host}:{uri.Port}" : "logged only (no webhook)",
                security.Description, System.Runtime.GCSettings.IsServerGC ? "server" : "workstation (hopt-silo runs under the server one)");
            if (security.AuthorityKeyOnSilo)
            {
                log.LogWarning("The CA's private key ({File}) is in the silo's certificate folder: move it off the silos (whoever reads it can issue operator certificates)", ClusterCertificates.AuthorityKeyFile);
            }

            if (security.Insecure)
            {
                log.LogWarning("Silo {Silo} runs INSECURE (--insecure): no TLS and no identities; anyone who reaches its gateway port may change the migration", $"silo-{options.SiloPort}");
            }
        });
        app.Lifetime.ApplicationStopping.Register(() => log.LogInformation("Silo {Silo} stopping: its running jobs are handed back and resume on a live silo", $"silo-{options.SiloPort}"));
        return app;
    }

    /// <summary>The environment-variable prefix of the silo's settings: <c>HOPT__Slots__MaxConcurrentJobs=2</c> is <c>Slots:MaxConcurrentJobs</c>.</summary>
    public const string SettingsPrefix = "HOPT__";

    /// <summary>The variable naming a JSON settings file to read after the <c>appsettings.json</c> beside the program.</summary>
    public const string SettingsFileVariable = "HOPT_SETTINGS";

    /// <summary>
    /// The silo's settings beyond its flags: <c>appsettings.json</c> beside the program, then the file named by
    /// <c>HOPT_SETTINGS</c>, then <c>HOPT__</c> environment variables; sections <c>Slots</c> (<see cref="JobSlotOptions"/>)
    /// <c>Migration</c> (<see cref="Grains.Migration.MigrationPolicyOptions"/>) and <c>Alerts</c> (<see cref="Grains.Observability.AlertOptions"/>). Command-line flags win over them. Every
    /// section is validated at start: a setting that cannot work stops the silo with a message naming it.
    /// </summary>
    private static void Settings(ConfigurationManager configuration, IServiceCollection services)
    {
        configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        if (Environment.GetEnvironmentVariable(SettingsFileVariable) is { Length: > 0 } file)
        {
            configuration.AddJsonFile(Path.GetFullPath(file), optional: false);
        }

        configuration.AddEnvironmentVariables(SettingsPrefix);
        services.AddOptions<JobSlotOptions>().Bind(configuration.GetSection("Slots"), Strict);
        services.AddOptions<Grains.Migration.MigrationPolicyOptions>().Bind(configuration.GetSection("Migration"), Strict);
        services.AddOptions<Grains.Observability.AlertOptions>().Bind(configuration.GetSection("Alerts"), Strict);
    }

    /// <summary>A key the options do not have (a typo) is an error, not silently ignored.</summary>
    private static void Strict(BinderOptions binder) => binder.ErrorOnUnknownConfiguration = true;

    /// <summary>Whether a TLS peer's certificate is the CA's with a role (a silo's where <paramref name="silosOnly"/>); a refusal is logged with the subject.</summary>
    private static bool Accept(X509Certificate? presented, X509Certificate2 authority, bool silosOnly, TlsLog log)
    {
        if (presented is null)
        {
            log.Logger?.LogWarning("TLS connection refused: the peer presented no certificate");
            return false;
        }

        var certificate = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        var role = CallerProof.RoleOf(certificate);
        var problem = !CallerProof.IssuedBy(certificate, authority, out var why) ? why
            : role is null ? "its OU names no role"
            : silosOnly && role != Role.Silo ? $"a {role.Value.ToString().ToLowerInvariant()}'s certificate on the silo-to-silo port (clients connect to the gateway)"
            : null;
        if (problem is not null)
        {
            log.Logger?.LogWarning("TLS connection refused: certificate {Subject}: {Problem}", certificate.Subject, problem);
        }

        return problem is null;
    }

    /// <summary>Where TLS refusals are logged once the host is built (the TLS options are made before its logger exists).</summary>
    private sealed class TlsLog
    {
        public Microsoft.Extensions.Logging.ILogger? Logger { get; set; }
    }

    /// <summary>
    /// How the silo is secured: with <see cref="SiloHostOptions.CertificatesDirectory"/>, mutual TLS and roles (the silo
    /// certificate must be the CA's, OU silo); without, embedded runs loopback-only and cluster mode only when insecure
    /// was asked for.
    /// </summary>
    private static ClusterSecurity Security(SiloHostOptions options, out X509Certificate2? siloCertificate)
    {
        siloCertificate = null;
        if (options.CertificatesDirectory is not { } directory)
        {
            return options.Postgres is not null && !options.Insecure
                ? throw new ArgumentException("cluster mode needs --certs DIR (mutual TLS and roles; make them with hopt certs init) or, knowingly, --insecure")
                : new ClusterSecurity { Insecure = options.Postgres is not null };
        }

        var authority = ClusterCertificates.LoadAuthority(Path.Combine(directory, ClusterCertificates.AuthorityFile));
        siloCertificate = ClusterCertificates.LoadIdentity(Path.Combine(directory, ClusterCertificates.SiloFile));
        if (!CallerProof.IssuedBy(siloCertificate, authority, out var problem) || CallerProof.RoleOf(siloCertificate) != Role.Silo)
        {
            throw new ArgumentException($"{Path.Combine(directory, ClusterCertificates.SiloFile)} is not this CA's silo certificate: {(problem.Length > 0 ? problem : "its OU is not silo")}");
        }

        return new ClusterSecurity
        {
            Authority = authority,
            SiloKey = CallerProof.SiloKey(siloCertificate),
            AuthorityKeyOnSilo = File.Exists(Path.Combine(directory, ClusterCertificates.AuthorityKeyFile)),
        };
    }
}

/// <summary>
/// Levels written in full in the log (INFO, WARNING, ERROR), as the runbook's <c>grep -c "ERROR"</c> expects, and an
/// event's exception as one line after its message (its type and first line; no stack trace), so every event is a line.
/// </summary>
internal sealed class LevelNames : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("ExceptionLine",
            logEvent.Exception is { } e ? $" ({e.GetType().Name}: {HeavyOptimizer.Core.Messages.OneLine(e.Message)})" : string.Empty));
        logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("LevelName", logEvent.Level switch
        {
            LogEventLevel.Verbose => "TRACE",
            LogEventLevel.Debug => "DEBUG",
            LogEventLevel.Information => "INFO",
            LogEventLevel.Warning => "WARNING",
            LogEventLevel.Error => "ERROR",
            _ => "CRITICAL",
        }));
    }
}
