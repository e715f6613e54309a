using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Grains.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace HeavyOptimizer.Grains.Backends;

/// <summary>
/// A backend's compute, on a GPU silo when there is one: reads the dataset from the backend's store (shared by the
/// silos) and computes every strategy's metrics in the backend's engine (ILGPU on CUDA there). A dataset is named by
/// the SHA-256 of its content, so its metrics never change: the last few are kept, and the many jobs run over one
/// file compute them once per activation instead of queueing behind each other for the same answer.
/// </summary>
[GpuPlacement]
public sealed class BackendGrain(IBackendProvider backends, IServiceProvider services, ILocalSiloDetails silo) : Grain, IBackendGrain
{
    /// <summary>Numbers per strategy in <see cref="ComputeMetrics"/>'s result.</summary>
    public const int Fields = 8;

    private const int Kept = 16;
    private readonly Dictionary<string, double[]> _computed = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<double[]> ComputeMetrics(string fingerprint)
    {
        if (!_computed.TryGetValue(fingerprint, out var flat))
        {
            flat = await ComputeAsync(fingerprint);
            if (_computed.Count == Kept)
            {
                _computed.Clear();
            }

            _computed[fingerprint] = flat;
        }

        return flat;
    }

    private async Task<double[]> ComputeAsync(string fingerprint)
    {
        var backend = await backends.GetAsync(this.GetPrimaryKeyString(), CancellationToken.None);
        var metrics = await backend.ComputeMetricsAsync(fingerprint);
        var flat = new double[metrics.Length * Fields];
        for (var i = 0; i < metrics.Length; i++)
        {
            var m = metrics[i];
            (flat[i * Fields], flat[i * Fields + 1], flat[i * Fields + 2], flat[i * Fields + 3]) = (m.Roi, m.MaxDrawdown, m.WinPercentage, m.ProfitFactor);
            (flat[i * Fields + 4], flat[i * Fields + 5], flat[i * Fields + 6], flat[i * Fields + 7]) = (m.Expectancy, m.Sharpe, m.Sortino, m.AnnualizedReturn);
        }

        return flat;
    }

    /// <inheritdoc />
    public Task<BackendPlacement> Placement()
    {
        var metadata = services.GetService<ISiloMetadataCache>();
        var gpu = metadata is not null && GpuPlacementDirector.HasGpu(metadata, silo.SiloAddress);
        return Task.FromResult(new BackendPlacement(this.GetPrimaryKeyString(), silo.SiloAddress.ToString(), gpu));
    }

    /// <summary>Turns <see cref="ComputeMetrics"/>'s numbers back into metrics.</summary>
    public static SeriesMetrics[] Unflatten(double[] flat)
    {
        ArgumentNullException.ThrowIfNull(flat);
        var metrics = new SeriesMetrics[flat.Length / Fields];
        for (var i = 0; i < metrics.Length; i++)
        {
            var o = i * Fields;
            metrics[i] = new SeriesMetrics(flat[o], flat[o + 1], flat[o + 2], flat[o + 3], flat[o + 4], flat[o + 5], flat[o + 6], flat[o + 7]);
        }

        return metrics;
    }
}
