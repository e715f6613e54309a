using HeavyOptimizer.Backends;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Grains.Jobs;
using HeavyOptimizer.Grains.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>One in-process test cluster shared by a collection of tests; the cluster store in SQLite, other grain state in memory, data under a temporary root.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>The data root of this test process's silos.</summary>
    public static readonly string Root = Path.Combine(Path.GetTempPath(), $"hopt-cluster-{Environment.ProcessId}");

    public TestCluster Cluster { get; } = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().Build();

    /// <summary>The cluster store's database (SQLite, as the embedded silo keeps it).</summary>
    public static readonly string Store = $"Data Source={Path.Combine(Root, "cluster.db")}";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        await new ClusterStore(SqliteFactory.Instance, Store).EnsureSchemaAsync();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            silo.AddMemoryGrainStorage("hopt").UseInMemoryReminderService().UseHeavyOptimizerStore(SqliteFactory.Instance, Store)
                .AddHeavyOptimizerGrains(slots: s => s.Poll = TimeSpan.FromMilliseconds(100), backends: o =>
            {
                o.DataDirectory = Path.Combine(Root, "data");
                o.OutputRoot = Path.Combine(Root, "output");
                o.HeavyDbUrl = "embedded";
                o.Compute = "cpu";
                o.InputRoots.Add(Path.Combine(Root, "input"));
            });
            silo.Services.AddSingleton<IBackendProvider>(sp => new FaultyBackends(new BackendProvider(sp.GetRequiredService<IOptions<BackendHostOptions>>())));
        }
    }
}

/// <summary>
/// A test class with an in-process cluster of its own (<paramref name="silos"/> silos configured by
/// <typeparamref name="TSilo"/>), made afresh for each test under <paramref name="root"/>, which is removed after.
/// </summary>
public abstract class OwnCluster<TSilo>(short silos, string root) : IAsyncLifetime
    where TSilo : ISiloConfigurator, new()
{
    protected TestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(root);
        await PrepareAsync();
        Cluster = new TestClusterBuilder(silos).AddSiloBuilderConfigurator<TSilo>().Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        // The next test makes its databases afresh at the same paths: no pooled handle may outlive this one.
        SqliteConnection.ClearAllPools();
        Directory.Delete(root, recursive: true);
    }

    /// <summary>What a test class needs before its silos start (its databases).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;
}

/// <summary>Cluster stores for test clusters of their own: SQLite files with the schema made.</summary>
internal static class TestStores
{
    /// <summary>A connection string to a new SQLite cluster store under <paramref name="directory"/> (made if missing).</summary>
    public static string Sqlite(string directory)
    {
        Directory.CreateDirectory(directory);
        var connection = $"Data Source={Path.Combine(directory, $"store-{Guid.NewGuid():N}.db")}";
        new ClusterStore(SqliteFactory.Instance, connection).EnsureSchemaAsync().GetAwaiter().GetResult();
        return connection;
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>
/// Test-only faults injected into the real backends, keyed by the input file's name: "perturbed" makes the Parquet
/// backend's engine report one metric slightly off (a data-path bug), "one-ulp" makes the matrix it reads back differ
/// from the stored one by one unit in the last place of one cell, "parquet-breaks" makes the Parquet backend throw.
/// </summary>
internal sealed class FaultyBackends(IBackendProvider inner) : IBackendProvider
{
    public async Task<IDataBackend> GetAsync(string name, CancellationToken cancellation)
    {
        var backend = await inner.GetAsync(name, cancellation);
        return name == "parquet" ? new Faulty(backend) : backend;
    }

    private sealed class Faulty(IDataBackend inner) : IDataBackend
    {
        public string Name => inner.Name;

        public Task<StoredDataset> IngestAsync(string csvPath, CancellationToken cancellation = default) =>
            csvPath.Contains("parquet-breaks", StringComparison.Ordinal)
                ? throw new BackendException(Name, "injected failure")
                : inner.IngestAsync(csvPath, cancellation);

        public async Task<Core.Data.Dataset> LoadAsync(string fingerprint, CancellationToken cancellation = default)
        {
            var dataset = await inner.LoadAsync(fingerprint, cancellation);
            if (!dataset.Source.Contains("one-ulp", StringComparison.Ordinal))
            {
                return dataset;
            }

            var values = dataset.Matrix.Values.ToArray();
            values[values.Length / 2] = Math.BitIncrement(values[values.Length / 2]);
            return dataset with { Matrix = dataset.Matrix.WithColumns(dataset.Matrix.Names, values) };
        }

        public async Task<SeriesMetrics[]> ComputeMetricsAsync(string fingerprint, CancellationToken cancellation = default)
        {
            var metrics = await inner.ComputeMetricsAsync(fingerprint, cancellation);
            var source = (await inner.DescribeAsync(fingerprint, cancellation))?.Source ?? string.Empty;
            if (source.Contains("perturbed", StringComparison.Ordinal))
            {
                metrics[0] = metrics[0] with { MaxDrawdown = metrics[0].MaxDrawdown * 1.001 };
            }

            return metrics;
        }

        public Task<StoredDataset?> DescribeAsync(string fingerprint, CancellationToken cancellation = default) => inner.DescribeAsync(fingerprint, cancellation);

        public Task<IReadOnlyList<StoredDataset>> ListAsync(CancellationToken cancellation = default) => inner.ListAsync(cancellation);

        public Task<bool> DropAsync(string fingerprint, CancellationToken cancellation = default) => inner.DropAsync(fingerprint, cancellation);

        public Task<BackendHealth> HealthAsync(CancellationToken cancellation = default) => inner.HealthAsync(cancellation);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
