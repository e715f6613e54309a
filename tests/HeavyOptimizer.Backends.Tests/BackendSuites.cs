using HeavyOptimizer.Backends.HeavyDb.StandIn;
using HeavyOptimizer.Backends.HeavyDb;
using HeavyOptimizer.Backends.Parquet;

namespace HeavyOptimizer.Backends.Tests;

/// <summary>The reference backend: the engine's reader and metrics, in memory.</summary>
public sealed class InMemoryBackendComplianceTests : BackendComplianceTests
{
    protected override Task<IDataBackend> OpenAsync(string storeDirectory) => Task.FromResult<IDataBackend>(new InMemoryBackend());

    protected override Task<IDataBackend?> OpenDownAsync(string storeDirectory) => Task.FromResult<IDataBackend?>(null);

    protected override Task<IDataBackend?> CorruptAsync(string fingerprint) => Task.FromResult<IDataBackend?>(null);
}

/// <summary>Parquet files through Arrow; metrics on the vectorised CPU path (no GPU here).</summary>
public sealed class ParquetBackendComplianceTests : BackendComplianceTests
{
    private string _store = string.Empty;

    protected override Task<IDataBackend> OpenAsync(string storeDirectory)
    {
        _store = storeDirectory;
        return Task.FromResult<IDataBackend>(new ParquetBackend(new ParquetBackendOptions { DataDirectory = storeDirectory, Compute = "cpu" }));
    }

    protected override Task<IDataBackend?> OpenDownAsync(string storeDirectory)
    {
        // The data directory is a file: nothing can be stored under it.
        File.WriteAllText(storeDirectory, "not a directory");
        return Task.FromResult<IDataBackend?>(new ParquetBackend(new ParquetBackendOptions { DataDirectory = storeDirectory }));
    }

    protected override Task<IDataBackend?> CorruptAsync(string fingerprint)
    {
        var file = Path.Combine(_store, "parquet", fingerprint, "returns.parquet");
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        return Task.FromResult<IDataBackend?>(Backend);
    }

    [Fact]
    public async Task A_damaged_file_is_reported_and_reingested_from_its_source()
    {
        var matrix = Core.Tests.Support.Some.RandomMatrix(30, 10, 8);
        var parquet = (ParquetBackend)Backend;
        var repaired = new List<string>();
        parquet.Repaired += repaired.Add;
        var stored = await Backend.IngestAsync(Csv(matrix));
        await CorruptAsync(stored.Fingerprint);

        var loaded = await Backend.LoadAsync(stored.Fingerprint);

        Assert.Equal(matrix.Values.ToArray(), loaded.Matrix.Values.ToArray());
        Assert.Contains(loaded.Warnings, w => w.Contains("damaged", StringComparison.Ordinal) && w.Contains("returns.parquet", StringComparison.Ordinal));
        Assert.Single(repaired);
        // Repaired for good: the next read is clean.
        Assert.DoesNotContain((await Backend.LoadAsync(stored.Fingerprint)).Warnings, w => w.Contains("damaged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_damaged_file_found_at_ingest_is_reported_like_one_found_at_load()
    {
        var matrix = Core.Tests.Support.Some.RandomMatrix(30, 10, 10);
        var parquet = (ParquetBackend)Backend;
        var repaired = new List<string>();
        parquet.Repaired += repaired.Add;
        var path = Csv(matrix, "ingested-twice.csv");
        var stored = await Backend.IngestAsync(path);
        await CorruptAsync(stored.Fingerprint);

        await Backend.IngestAsync(path);
        var loaded = await Backend.LoadAsync(stored.Fingerprint);

        Assert.Single(repaired);
        Assert.Contains(loaded.Warnings, w => w.Contains("was damaged", StringComparison.Ordinal) && w.Contains("returns.parquet", StringComparison.Ordinal));
        Assert.Equal(matrix.Values.ToArray(), loaded.Matrix.Values.ToArray());
        Assert.DoesNotContain((await Backend.LoadAsync(stored.Fingerprint)).Warnings, w => w.Contains("damaged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_damaged_file_whose_source_is_gone_is_a_clear_error()
    {
        var path = Csv(Core.Tests.Support.Some.RandomMatrix(30, 10, 9), "vanishing.csv");
        var stored = await Backend.IngestAsync(path);
        File.Delete(path);
        await CorruptAsync(stored.Fingerprint);

        var e = await Assert.ThrowsAsync<BackendException>(() => Backend.LoadAsync(stored.Fingerprint));
        Assert.Contains("damaged", e.Message, StringComparison.Ordinal);
        Assert.Contains("vanishing.csv", e.Message, StringComparison.Ordinal);
    }
}

/// <summary>HeavyDB's SQL path on the embedded engine (DuckDB standing in for a server).</summary>
public sealed class EmbeddedHeavyDbBackendComplianceTests : BackendComplianceTests
{
    private string _store = string.Empty;

    protected override async Task<IDataBackend> OpenAsync(string storeDirectory)
    {
        _store = storeDirectory;
        return await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "embedded", DataDirectory = storeDirectory });
    }

    protected override async Task<IDataBackend?> OpenDownAsync(string storeDirectory)
    {
        File.WriteAllText(storeDirectory, "not a directory");
        return await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "embedded", DataDirectory = storeDirectory });
    }

    protected override async Task<IDataBackend?> CorruptAsync(string fingerprint)
    {
        // Close the engine, overwrite most of its database file, and open it again.
        await Backend.DisposeAsync();
        var file = Path.Combine(_store, "heavydb-embedded", "hopt.duckdb");
        var bytes = File.ReadAllBytes(file);
        new Random(1).NextBytes(bytes.AsSpan(4096));
        File.WriteAllBytes(file, bytes);
        return await ReplaceAsync(() => OpenAsync(_store));
    }
}

/// <summary>
/// HeavyDB's Thrift client over real sockets to the protocol-level stand-in server (HeavyDB's protocol, its SQL on the
/// embedded engine: not HeavyDB), over <see cref="Protocol"/>.
/// </summary>
public abstract class StandInHeavyDbBackendComplianceTests : BackendComplianceTests
{
    private HeavyDbStandInServer? _server;

    protected abstract string Protocol { get; }

    protected override async Task<IDataBackend> OpenAsync(string storeDirectory)
    {
        _server ??= await HeavyDbStandInServer.StartAsync(new HeavyDbStandInOptions { DataDirectory = storeDirectory + "-server" });
        return await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = _server.Url(Protocol) });
    }

    protected override async Task<IDataBackend?> OpenDownAsync(string storeDirectory) =>
        await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = $"heavydb://admin:x@127.0.0.1:1/heavyai?protocol={Protocol}&connect_timeout=2" });

    protected override Task<IDataBackend?> CorruptAsync(string fingerprint) => Task.FromResult<IDataBackend?>(null);

    protected override async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The stand-in over the binary protocol (HeavyDB's port 6274).</summary>
public sealed class StandInBinaryHeavyDbBackendComplianceTests : StandInHeavyDbBackendComplianceTests
{
    protected override string Protocol => "binary";
}

/// <summary>The stand-in over the JSON protocol on HTTP (HeavyDB's port 6278).</summary>
public sealed class StandInHttpHeavyDbBackendComplianceTests : StandInHeavyDbBackendComplianceTests
{
    protected override string Protocol => "http";
}

/// <summary>A real HeavyDB server, when HEAVYDB_URL names one; every test reports itself skipped otherwise.</summary>
public sealed class RealHeavyDbBackendComplianceTests : BackendComplianceTests
{
    private static string? Url => Environment.GetEnvironmentVariable(HeavyDbConnection.EnvironmentVariable);

    protected override string? Unavailable => string.IsNullOrEmpty(Url)
        ? "HEAVYDB_URL is not set: no HeavyDB server to test against (the embedded suite covers the SQL path)"
        : null;

    protected override async Task<IDataBackend> OpenAsync(string storeDirectory)
    {
        if (string.IsNullOrEmpty(Url))
        {
            return new InMemoryBackend();
        }

        var backend = await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = Url });
        foreach (var dataset in await backend.ListAsync())
        {
            await backend.DropAsync(dataset.Fingerprint);
        }

        return backend;
    }

    protected override async Task<IDataBackend?> OpenDownAsync(string storeDirectory) =>
        await HeavyDbBackend.OpenAsync(new HeavyDbOptions { Url = "heavydb://admin:x@127.0.0.1:1/heavyai" });

    protected override Task<IDataBackend?> CorruptAsync(string fingerprint) => Task.FromResult<IDataBackend?>(null);
}
