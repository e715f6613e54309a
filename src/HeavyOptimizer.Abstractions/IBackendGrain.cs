using Orleans.Concurrency;

namespace HeavyOptimizer.Abstractions;

/// <summary>Where a backend grain runs and what it computes on.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.BackendPlacement")]
public sealed record BackendPlacement([property: Id(0)] string Backend, [property: Id(1)] string Silo, [property: Id(2)] bool SiloHasGpu);

/// <summary>
/// One dataset's compute on one backend (key <see cref="KeyFor"/>: backend, dataset fingerprint, and whether a GPU may
/// be used), placed on a silo that advertises a GPU (silo metadata gpu=true) when one exists, anywhere otherwise. One
/// grain per dataset spreads the cluster's computations over every eligible silo, and the many jobs over one file ask
/// one grain, which computes once.
/// </summary>
[Alias("hopt.IBackendGrain")]
public interface IBackendGrain : IGrainWithStringKey
{
    /// <summary>The key suffix of a computation that must stay on the CPU (gpu_enabled = false).</summary>
    const string CpuOnly = "@cpu";

    /// <summary>The key of <paramref name="backend"/>'s computations over the dataset <paramref name="fingerprint"/>.</summary>
    static string KeyFor(string backend, string fingerprint, bool gpu) => $"{backend}/{fingerprint}{(gpu ? string.Empty : CpuOnly)}";

    /// <summary>Per-strategy SPEC section 2 metrics of the dataset, 8 numbers per strategy in input order.</summary>
    [Alias("ComputeMetrics")]
    [ResponseTimeout("00:10:00")]
    Task<double[]> ComputeMetrics();

    /// <summary>Where this grain runs.</summary>
    [Alias("Placement")]
    [ReadOnly]
    Task<BackendPlacement> Placement();
}
