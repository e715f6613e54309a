using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace HeavyOptimizer.Grains.Backends;

/// <summary>Place on a silo whose metadata says gpu=true when there is one; otherwise on any compatible silo.</summary>
[GenerateSerializer]
[Alias("hopt.GpuPlacementStrategy")]
public sealed class GpuPlacementStrategy : PlacementStrategy
{
    /// <summary>The silo metadata key a silo advertises its GPU under.</summary>
    public const string MetadataKey = "gpu";
}

/// <summary>Marks a grain class for <see cref="GpuPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class GpuPlacementAttribute() : PlacementAttribute(new GpuPlacementStrategy());

/// <summary>
/// Chooses among compatible silos those advertising gpu=true (at random, so that many grains use every GPU silo), else
/// among all; a grain whose key ends in <see cref="IBackendGrain.CpuOnly"/> (computing on the CPU because gpu_enabled is
/// false) goes to any silo.
/// </summary>
public sealed class GpuPlacementDirector(IServiceProvider services) : IPlacementDirector
{
    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var silos = context.GetCompatibleSilos(target);
        var metadata = services.GetService<ISiloMetadataCache>();
        var cpuOnly = target.GrainIdentity.Key.ToString().EndsWith(IBackendGrain.CpuOnly, StringComparison.Ordinal);
        var gpu = metadata is null || cpuOnly ? [] : silos.Where(s => HasGpu(metadata, s)).ToArray();
        var pool = gpu.Length > 0 ? gpu : silos;
        return Task.FromResult(pool[Random.Shared.Next(pool.Length)]);
    }

    /// <summary>Whether <paramref name="silo"/> advertises gpu=true.</summary>
    public static bool HasGpu(ISiloMetadataCache metadata, SiloAddress silo)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.GetSiloMetadata(silo).Metadata.TryGetValue(GpuPlacementStrategy.MetadataKey, out var value) && value == "true";
    }
}
