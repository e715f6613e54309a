namespace HeavyOptimizer.Backends.Parquet;

/// <summary>Where and how the Parquet backend keeps datasets.</summary>
public sealed record ParquetBackendOptions
{
    /// <summary>Root of the store; datasets live in <c>&lt;DataDirectory&gt;/parquet/&lt;fingerprint&gt;/</c>. Default: <see cref="DataDirectories.Default"/>.</summary>
    public string DataDirectory { get; init; } = DataDirectories.Default;

    /// <summary>Where metrics are computed: <c>auto</c> (CUDA through ILGPU when a device exists, else the vectorised CPU path), <c>cpu</c>, <c>ilgpu-cpu</c> (tests) or <c>cuda</c>.</summary>
    public string Compute { get; init; } = "auto";

}
