namespace HeavyOptimizer.Abstractions;

/// <summary>Where a backend grain runs and what it computes on.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.BackendPlacement")]
public sealed record BackendPlacement([property: Id(0)] string Backend, [property: Id(1)] string Silo, [property: Id(2)] bool SiloHasGpu);

/// <summary>
/// A data backend's compute (key = backend name: heavydb, parquet), placed on a silo that advertises a GPU
/// (silo metadata gpu=true) when one exists, anywhere otherwise.
/// </summary>
[Alias("hopt.IBackendGrain")]
public interface IBackendGrain : IGrainWithStringKey
{
    /// <summary>Per-strategy SPEC section 2 metrics of a stored dataset, 8 numbers per strategy in input order.</summary>
    [Alias("ComputeMetrics")]
    Task<double[]> ComputeMetrics(string fingerprint);

    /// <summary>Where this backend's grain runs.</summary>
    [Alias("Placement")]
    Task<BackendPlacement> Placement();
}
