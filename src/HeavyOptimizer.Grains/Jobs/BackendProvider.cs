using System.Collections.Concurrent;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Backends.HeavyDb;
using HeavyOptimizer.Backends.Parquet;
using Microsoft.Extensions.Options;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>Where a silo keeps data, writes runs and finds HeavyDB.</summary>
public sealed record BackendHostOptions
{
    /// <summary>Data root of the Parquet store and the embedded HeavyDB engine; default <see cref="DataDirectories.Default"/>.</summary>
    public string DataDirectory { get; set; } = DataDirectories.Default;

    /// <summary><c>embedded</c> or a heavydb:// URL; null: HEAVYDB_URL, else embedded.</summary>
    public string? HeavyDbUrl { get; set; }

    /// <summary>Where the Parquet backend computes metrics (auto, cpu, ilgpu-cpu, cuda).</summary>
    public string Compute { get; set; } = "auto";

    /// <summary>Root of every job's run directory; default <c>&lt;DataDirectory&gt;/output</c>.</summary>
    public string? OutputRoot { get; set; }

    /// <summary>The output root in force.</summary>
    public string OutputRootOrDefault => OutputRoot ?? Path.Combine(DataDirectory, "output");

    /// <summary>Folders besides <c>&lt;DataDirectory&gt;/input</c> that jobs may read their input from (<c>--input-root</c>, the share's <c>input/</c>).</summary>
    public IList<string> InputRoots { get; } = [];

    /// <summary>Every folder jobs may read their input from: <c>&lt;DataDirectory&gt;/input</c> and <see cref="InputRoots"/>.</summary>
    public IReadOnlyList<string> AllInputRoots => [Path.Combine(DataDirectory, "input"), .. InputRoots];

    /// <summary>How long a dual-write secondary may run before it is abandoned (the job never waits longer); default 10 minutes.</summary>
    public TimeSpan SecondaryTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Period of the reminder every unfinished job holds; when its silo died, the reminder reactivates the job on a live
    /// silo, where it resumes. Default 1 minute (Orleans' minimum reminder period unless the host lowers it).
    /// </summary>
    public TimeSpan Watchdog { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Hands out the silo's data backends by name, opening each once.</summary>
public interface IBackendProvider
{
    /// <summary>The backend called <paramref name="name"/> (heavydb or parquet).</summary>
    Task<IDataBackend> GetAsync(string name, CancellationToken cancellation);
}

/// <summary>
/// Opens each backend once per silo and closes them at shutdown. A backend that failed to open (a HeavyDB server down)
/// is never kept broken: it is opened afresh on a later use, with backoff (1 s after the first failure, doubling to a
/// minute) so that a down server is not hammered by every job; until then its uses fail at once with the last error.
/// </summary>
public sealed class BackendProvider(IOptions<BackendHostOptions> options, TimeProvider? time = null) : IBackendProvider, IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Lazy<Task<IDataBackend>>> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (Exception Error, int Failures, DateTimeOffset RetryAt)> _failed = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <inheritdoc />
    public async Task<IDataBackend> GetAsync(string name, CancellationToken cancellation)
    {
        if (_failed.TryGetValue(name, out var failed) && _time.GetUtcNow() < failed.RetryAt)
        {
            throw new BackendException(name, $"{Core.Messages.OneLine(failed.Error.Message)} (tried {failed.Failures} time(s); next attempt at {failed.RetryAt:HH:mm:ss})", failed.Error);
        }

        var opening = _open.GetOrAdd(name, n => new Lazy<Task<IDataBackend>>(() => OpenAsync(n)));
        try
        {
            var backend = await opening.Value.WaitAsync(cancellation);
            _failed.TryRemove(name, out _);
            return backend;
        }
        catch (Exception e) when (opening.Value.IsFaulted)
        {
            if (_open.TryRemove(KeyValuePair.Create(name, opening)))
            {
                var failures = _failed.TryGetValue(name, out var before) ? before.Failures + 1 : 1;
                var backoff = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, failures - 1)));
                _failed[name] = (e, failures, _time.GetUtcNow() + backoff);
            }

            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var backend in _open.Values.Where(l => l.IsValueCreated))
        {
            try
            {
                await (await backend.Value).DisposeAsync();
            }
            catch (BackendException)
            {
                // It never opened; nothing to close.
            }
        }
    }

    private Task<IDataBackend> OpenAsync(string name) => Open(name, options.Value, CancellationToken.None);

    /// <summary>The name under which <see cref="IBackendProvider"/> hands out the Parquet backend computing on the CPU only (gpu_enabled = false).</summary>
    public const string ParquetOnCpu = "parquet@cpu";

    /// <summary>Opens the backend called <paramref name="name"/> (core, parquet, parquet@cpu, heavydb) as <paramref name="o"/> says.</summary>
    public static async Task<IDataBackend> Open(string name, BackendHostOptions o, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(o);
        return name switch
        {
            "parquet" => new ParquetBackend(new ParquetBackendOptions { DataDirectory = o.DataDirectory, Compute = o.Compute }),
            ParquetOnCpu => new ParquetBackend(new ParquetBackendOptions { DataDirectory = o.DataDirectory, Compute = "cpu" }),
            "heavydb" => await HeavyDbBackend.OpenAsync(new HeavyDbOptions { DataDirectory = o.DataDirectory, Url = o.HeavyDbUrl }, cancellation),
            "core" => new InMemoryBackend(),
            _ => throw new ArgumentException($"unknown backend '{name}': expected core, parquet or heavydb"),
        };
    }
}
