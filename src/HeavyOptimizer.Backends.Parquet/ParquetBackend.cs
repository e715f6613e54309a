using System.Security.Cryptography;
using System.Text.Json;
using HeavyOptimizer.Core.Data;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Core.Output;

namespace HeavyOptimizer.Backends.Parquet;

/// <summary>
/// Datasets as Parquet files under a data root, one directory per fingerprint holding the two tables of
/// <see cref="ParquetLayout"/> and <c>dataset.json</c> (shape, source, warnings and the SHA-256 of each file). A
/// directory is built under a temporary name and renamed into place, so a store never holds half a dataset; a file
/// whose hash no longer matches is reported and the dataset re-ingested from its source, never silently used.
/// </summary>
public sealed class ParquetBackend(ParquetBackendOptions options) : IDataBackend
{
    private const string ManifestFile = "dataset.json";
    private readonly string _root = Path.Combine(Path.GetFullPath(options.DataDirectory), "parquet");

    /// <summary>Creates the backend over the default data directory.</summary>
    public ParquetBackend()
        : this(new ParquetBackendOptions())
    {
    }

    /// <inheritdoc />
    public string Name => "parquet";

    /// <summary>Raised with a message when a stored dataset was found damaged and repaired from its source (at ingest or at load).</summary>
    public event Action<string>? Repaired;

    /// <summary>Repairs made at ingest, told as warnings by the next load of that dataset, like those made at load.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _repairedAtIngest = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<StoredDataset> IngestAsync(string csvPath, CancellationToken cancellation = default)
    {
        var dataset = CsvDatasetReader.Read(csvPath);
        using var held = await DatasetLocks.AcquireAsync($"parquet:{_root}:{dataset.Fingerprint}", cancellation).ConfigureAwait(false);
        var existing = ReadManifest(dataset.Fingerprint);
        var problem = existing is null ? null : Verify(dataset.Fingerprint, existing);
        if (existing is not null && problem is null)
        {
            return existing.Info;
        }

        var stored = Store(dataset, replace: existing is not null).Info;
        if (problem is not null)
        {
            _repairedAtIngest[dataset.Fingerprint] = Damaged(dataset.Fingerprint, problem, csvPath);
            Repaired?.Invoke($"{dataset.Fingerprint}: {problem}; re-ingested from {csvPath}");
        }

        return stored;
    }

    /// <inheritdoc />
    public async Task<Dataset> LoadAsync(string fingerprint, CancellationToken cancellation = default)
    {
        using var held = await DatasetLocks.AcquireAsync($"parquet:{_root}:{fingerprint}", cancellation).ConfigureAwait(false);
        var manifest = ReadManifest(fingerprint) ?? throw new BackendException(Name, $"no dataset with fingerprint {fingerprint} under {_root}");
        var warnings = manifest.Warnings.ToList();
        if (_repairedAtIngest.TryRemove(fingerprint, out var repairedAtIngest))
        {
            warnings.Add(repairedAtIngest);
        }

        var problem = Verify(fingerprint, manifest);
        if (problem is not null)
        {
            manifest = Repair(fingerprint, manifest, problem);
            warnings.Add(Damaged(fingerprint, problem, manifest.Info.Source));
        }

        try
        {
            var matrix = ParquetLayout.Read(DatasetDirectory(fingerprint));
            return new Dataset(manifest.Info.Source, matrix, fingerprint, manifest.Info.EmptyCells, warnings);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ParquetSharp.ParquetException)
        {
            throw new BackendException(Name, $"cannot read {DatasetDirectory(fingerprint)}: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public async Task<SeriesMetrics[]> ComputeMetricsAsync(string fingerprint, CancellationToken cancellation = default)
    {
        var matrix = (await LoadAsync(fingerprint, cancellation).ConfigureAwait(false)).Matrix;
        var device = options.Compute switch
        {
            "auto" => StrategyMetricsKernels.CudaAvailable() ? "cuda" : "cpu",
            "cpu" or "cuda" or "ilgpu-cpu" => options.Compute,
            _ => throw new BackendException(Name, $"unknown compute device '{options.Compute}' (auto, cpu, ilgpu-cpu, cuda)"),
        };
        if (device == "cpu")
        {
            return StrategyMetricsKernels.Cpu(matrix);
        }

        var (context, accelerator) = StrategyMetricsKernels.OpenAccelerator(forceCpu: device == "ilgpu-cpu");
        using (context)
        using (accelerator)
        {
            return StrategyMetricsKernels.Ilgpu(accelerator, matrix);
        }
    }

    /// <inheritdoc />
    public Task<StoredDataset?> DescribeAsync(string fingerprint, CancellationToken cancellation = default) =>
        Task.FromResult(ReadManifest(fingerprint)?.Info);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredDataset>> ListAsync(CancellationToken cancellation = default)
    {
        IReadOnlyList<StoredDataset> list = Directory.Exists(_root)
            ? Directory.EnumerateDirectories(_root).Select(Path.GetFileName).Where(n => n is not null && !n.StartsWith('.'))
                .Select(n => ReadManifest(n!)?.Info).OfType<StoredDataset>().OrderBy(d => d.IngestedAt).ToList()
            : [];
        return Task.FromResult(list);
    }

    /// <inheritdoc />
    public async Task<bool> DropAsync(string fingerprint, CancellationToken cancellation = default)
    {
        using var held = await DatasetLocks.AcquireAsync($"parquet:{_root}:{fingerprint}", cancellation).ConfigureAwait(false);
        var directory = DatasetDirectory(fingerprint);
        if (!Directory.Exists(directory))
        {
            return false;
        }

        // Rename first so a reader never sees a half-deleted dataset.
        var doomed = Path.Combine(_root, $".drop-{fingerprint}-{Guid.NewGuid():N}");
        Directory.Move(directory, doomed);
        Directory.Delete(doomed, recursive: true);
        return true;
    }

    /// <inheritdoc />
    public Task<BackendHealth> HealthAsync(CancellationToken cancellation = default) =>
        InMemoryBackend.ProbeAsync(Name, () =>
        {
            EnsureRoot();
            var probe = Path.Combine(_root, $".health-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
            var compute = StrategyMetricsKernels.CudaAvailable() ? "CUDA (ILGPU)" : "vectorised CPU";
            return Task.FromResult($"{_root} writable; metrics on {compute}");
        });

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private string DatasetDirectory(string fingerprint) => Path.Combine(_root, fingerprint);

    private static string Damaged(string fingerprint, string problem, string source) =>
        $"parquet store of {fingerprint} was damaged ({problem}); re-ingested from {source}";

    private Manifest Store(Dataset dataset, bool replace)
    {
        EnsureRoot();
        var temp = Path.Combine(_root, $".ingest-{dataset.Fingerprint}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temp);
            ParquetLayout.Write(dataset.Matrix, temp);
            var files = new[] { ParquetLayout.ReturnsFile, ParquetLayout.StrategiesFile }
                .ToDictionary(f => f, f => Sha256(Path.Combine(temp, f)));
            var manifest = new Manifest(InMemoryBackend.Describe(Name, dataset, DatasetDirectory(dataset.Fingerprint)), dataset.Warnings.ToArray(), files);
            File.WriteAllText(Path.Combine(temp, ManifestFile), JsonSerializer.Serialize(manifest, RunReport.JsonOptions));
            var target = DatasetDirectory(dataset.Fingerprint);
            if (replace && Directory.Exists(target))
            {
                var old = Path.Combine(_root, $".replaced-{dataset.Fingerprint}-{Guid.NewGuid():N}");
                Directory.Move(target, old);
                Directory.Delete(old, recursive: true);
            }

            try
            {
                Directory.Move(temp, target);
            }
            catch (IOException) when (Directory.Exists(target))
            {
                // Another process stored the same bytes first: keep its copy.
                Directory.Delete(temp, recursive: true);
                return ReadManifest(dataset.Fingerprint) ?? manifest;
            }

            return manifest;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ParquetSharp.ParquetException)
        {
            TryDelete(temp);
            throw new BackendException(Name, $"cannot store {dataset.Fingerprint} under {_root}: {e.Message}", e);
        }
    }

    private Manifest Repair(string fingerprint, Manifest manifest, string problem)
    {
        var source = manifest.Info.Source;
        Dataset fresh;
        try
        {
            fresh = CsvDatasetReader.Read(source);
        }
        catch (DatasetException e)
        {
            throw new BackendException(Name, $"stored dataset {fingerprint} is damaged ({problem}) and its source cannot be re-read: {e.Message}", e);
        }

        if (fresh.Fingerprint != fingerprint)
        {
            throw new BackendException(Name,
                $"stored dataset {fingerprint} is damaged ({problem}) and its source {source} has changed since (now {fresh.Fingerprint}); re-ingest it");
        }

        Repaired?.Invoke($"{fingerprint}: {problem}; re-ingested from {source}");
        return Store(fresh, replace: true);
    }

    /// <summary>Null when every file matches its hash; else what is wrong.</summary>
    private string? Verify(string fingerprint, Manifest manifest)
    {
        foreach (var (file, hash) in manifest.Files)
        {
            var path = Path.Combine(DatasetDirectory(fingerprint), file);
            if (!File.Exists(path))
            {
                return $"{file} is missing";
            }

            if (Sha256(path) != hash)
            {
                return $"{file} does not match its SHA-256";
            }
        }

        return null;
    }

    private Manifest? ReadManifest(string fingerprint)
    {
        var path = Path.Combine(DatasetDirectory(fingerprint), ManifestFile);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), RunReport.JsonOptions) : null;
        }
        catch (JsonException e)
        {
            throw new BackendException(Name, $"{path} is not a valid dataset manifest: {e.Message}", e);
        }
    }

    private void EnsureRoot()
    {
        try
        {
            Directory.CreateDirectory(_root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BackendException(Name, $"data directory {_root} is unusable: {e.Message}", e);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private sealed record Manifest(StoredDataset Info, string[] Warnings, Dictionary<string, string> Files);
}
