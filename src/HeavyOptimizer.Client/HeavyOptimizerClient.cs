using System.Data.Common;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime;

namespace HeavyOptimizer.Client;

/// <summary>Where the cluster is.</summary>
public sealed class HeavyOptimizerClientOptions
{
    /// <summary>The environment variable naming the cluster when no option does.</summary>
    public const string EnvironmentVariable = "HOPT_CLUSTER";

    /// <summary>
    /// The cluster: host:port of a silo's gateway (an embedded silo), or the PostgreSQL connection string of a cluster in
    /// cluster mode (the client finds the live gateways there); default <c>$HOPT_CLUSTER</c>, else <c>127.0.0.1:30000</c>.
    /// </summary>
    public string Cluster { get; set; } = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } cluster ? cluster : "127.0.0.1:30000";

    /// <summary>The cluster as it can be printed: a connection string's password is masked.</summary>
    public string DisplayName => IsConnectionString(Cluster) ? new NpgsqlConnectionStringBuilder(Cluster) { Password = null }.ConnectionString : Cluster;

    internal static bool IsConnectionString(string cluster) => cluster.Contains('=', StringComparison.Ordinal);

    /// <summary>How long connecting to the gateway may take before the client gives up; default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long calls keep retrying while a silo is unreachable (a killed silo is declared dead after about 15 s); default 45 s.</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// This client's identity: a certificate issued by the cluster's CA, with its private key and its role in the OU
    /// (operator or submitter). With it, the connection is mutual TLS and every call is signed; null for an embedded
    /// silo or one run with <c>--insecure</c>.
    /// </summary>
    public X509Certificate2? Identity { get; set; }

    /// <summary>The cluster's CA certificate, which the silos' certificates must chain to (required with <see cref="Identity"/>).</summary>
    public X509Certificate2? Authority { get; set; }
}

/// <summary>The client library: submit, follow, cancel and read jobs, and reach the migration controller.</summary>
public interface IHeavyOptimizerClient
{
    /// <summary>
    /// Sends the CSV at <paramref name="path"/> to the cluster (up to <see cref="IUploadGrain.MaxBytes"/>; idempotent by
    /// content) and returns what to put in <see cref="JobSpec.InputPath"/>: <c>upload:&lt;sha256&gt;</c>.
    /// </summary>
    Task<string> UploadAsync(string path, CancellationToken cancellation = default);

    /// <summary>
    /// Submits a job; idempotent: the same request under the same id returns the job as it stands. Throws
    /// <see cref="InvalidJobException"/> naming what is wrong with the request, or when the id belongs to another request.
    /// </summary>
    Task<JobStatus> SubmitAsync(string jobId, JobSpec spec, CancellationToken cancellation = default);

    /// <summary>Checks a request exactly as <see cref="SubmitAsync"/> would, submitting nothing.</summary>
    Task CheckAsync(string jobId, JobSpec spec, CancellationToken cancellation = default);

    /// <summary>The job as it stands, or null.</summary>
    Task<JobStatus?> GetAsync(string jobId, CancellationToken cancellation = default);

    /// <summary>Each change of the job's state or progress (polled five times a second) until it finishes; cancelling throws <see cref="OperationCanceledException"/>.</summary>
    IAsyncEnumerable<JobStatus> WatchAsync(string jobId, CancellationToken cancellation = default);

    /// <summary>Asks the job to stop.</summary>
    Task<JobStatus?> CancelAsync(string jobId, CancellationToken cancellation = default);

    /// <summary>The migration controller.</summary>
    IMigrationControllerGrain Controller { get; }

    /// <summary>The cluster's job index: listings, and the probe of its silos and backends (<c>hopt health</c>).</summary>
    IJobIndexGrain Index { get; }

    /// <summary>Jobs submitted on one UTC day.</summary>
    Task<IReadOnlyList<JobStatus>> JobsAsync(DateOnly day, JobState? state, CancellationToken cancellation = default);
}

/// <summary>Registers <see cref="IHeavyOptimizerClient"/> and the Orleans client it rides on.</summary>
public static class HeavyOptimizerClientExtensions
{
    /// <summary>Adds the client, connecting to the cluster in <see cref="HeavyOptimizerClientOptions.Cluster"/>. Idempotent.</summary>
    public static IHostApplicationBuilder AddHeavyOptimizerClient(this IHostApplicationBuilder builder, Action<HeavyOptimizerClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(s => s.ServiceType == typeof(IHeavyOptimizerClient)))
        {
            return builder;
        }

        var options = new HeavyOptimizerClientOptions();
        configure?.Invoke(options);
        var connectDeadline = DateTimeOffset.MinValue;
        builder.UseOrleansClient(client =>
        {
            if (HeavyOptimizerClientOptions.IsConnectionString(options.Cluster))
            {
                if (!DbProviderFactories.TryGetFactory("Npgsql", out _))
                {
                    DbProviderFactories.RegisterFactory("Npgsql", NpgsqlFactory.Instance);
                }

                client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", options.Cluster));
            }
            else
            {
                client.UseStaticClustering(Parse(options.Cluster));
            }

            client.UseConnectionRetryFilter(async (_, cancellation) =>
            {
                if (connectDeadline == DateTimeOffset.MinValue)
                {
                    connectDeadline = DateTimeOffset.UtcNow + options.ConnectTimeout;
                }

                if (DateTimeOffset.UtcNow >= connectDeadline)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellation);
                return true;
            });
            client.Configure<ClusterOptions>(c => (c.ClusterId, c.ServiceId) = ("heavy-optimizer", "heavy-optimizer"));
            if (options.Identity is { } identity)
            {
                var authority = options.Authority ?? throw new ArgumentException("an identity needs the cluster's CA certificate (Authority) to check the silos by");
                client.UseTls(identity, tls =>
                {
                    tls.RemoteCertificateValidation = (certificate, _, _) => CallerProof.IssuedBy(certificate, authority, out _) && CallerProof.RoleOf(certificate) == Role.Silo;
                    tls.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = CallerProof.SiloUnit;
                });
                client.AddOutgoingGrainCallFilter(context =>
                {
                    var method = context.InterfaceMethod;
                    RequestContext.Set(CallerProof.ProofKey, CallerProof.Sign(identity, CallerProof.TargetOf(context.TargetId), $"{method.DeclaringType!.FullName}.{method.Name}", DateTimeOffset.UtcNow));
                    return context.Invoke();
                });
            }
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<IHeavyOptimizerClient, HeavyOptimizerClient>();
        return builder;
    }

    private static IPEndPoint Parse(string gateway)
    {
        var colon = gateway.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(gateway[(colon + 1)..], out var port))
        {
            throw new ArgumentException($"cluster '{gateway}': expected host:port of a silo gateway or a PostgreSQL connection string");
        }

        var host = gateway[..colon];
        var address = IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host).First();
        return new IPEndPoint(address, port);
    }
}

internal sealed class HeavyOptimizerClient(IClusterClient cluster, HeavyOptimizerClientOptions options) : IHeavyOptimizerClient
{
    public IMigrationControllerGrain Controller => cluster.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey);

    public IJobIndexGrain Index => cluster.GetGrain<IJobIndexGrain>(0);

    public async Task<string> UploadAsync(string path, CancellationToken cancellation = default)
    {
        var content = await ReadBoundedAsync(path, cancellation);
        var key = IUploadGrain.KeyOf(content);
        await ClusterCalls.RetryAsync(() => cluster.GetGrain<IUploadGrain>(key).Store(content), options.RetryWindow, cancellation);
        return IUploadGrain.Scheme + key;
    }

    /// <summary>The file's bytes, refused once they pass the upload limit (a device like /dev/zero never ends, its reported length is 0).</summary>
    private static async Task<byte[]> ReadBoundedAsync(string path, CancellationToken cancellation)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        using var content = new MemoryStream();
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await file.ReadAsync(buffer, cancellation)) > 0)
        {
            if (content.Length + read > IUploadGrain.MaxBytes)
            {
                throw new ArgumentException($"{path}: more than {IUploadGrain.MaxBytes:N0} bytes; the cluster takes uploads up to that, put larger inputs on the shared data root");
            }

            content.Write(buffer, 0, read);
        }

        return content.ToArray();
    }

    public Task<JobStatus> SubmitAsync(string jobId, JobSpec spec, CancellationToken cancellation = default) =>
        RetryAsync(() => cluster.GetGrain<IJobGrain>(jobId).Submit(spec), cancellation);

    public Task CheckAsync(string jobId, JobSpec spec, CancellationToken cancellation = default) =>
        ClusterCalls.RetryAsync(() => cluster.GetGrain<IJobGrain>(jobId).Check(spec), options.RetryWindow, cancellation);

    public Task<JobStatus?> GetAsync(string jobId, CancellationToken cancellation = default) =>
        RetryAsync(() => cluster.GetGrain<IJobGrain>(jobId).GetStatus(), cancellation);

    public Task<JobStatus?> CancelAsync(string jobId, CancellationToken cancellation = default) =>
        RetryAsync(() => cluster.GetGrain<IJobGrain>(jobId).Cancel(), cancellation);

    public Task<IReadOnlyList<JobStatus>> JobsAsync(DateOnly day, JobState? state, CancellationToken cancellation = default) =>
        RetryAsync(() => IJobIndexGrain.ListDay(cluster, day, state), cancellation);

    public async IAsyncEnumerable<JobStatus> WatchAsync(string jobId, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        JobStatus? last = null;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var status = await GetAsync(jobId, cancellation) ?? throw new InvalidOperationException($"no job {jobId}");
            if (last is null || status.State != last.State || status.Progress != last.Progress)
            {
                last = status;
                yield return status;
            }

            if (status.IsFinished)
            {
                yield break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellation);
        }
    }

    /// <summary>Retries while the silo that owned a grain is unreachable but not yet declared dead.</summary>
    private Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken cancellation) => ClusterCalls.RetryAsync(call, options.RetryWindow, cancellation);
}
