using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Metrics;
using HeavyOptimizer.Grains.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace HeavyOptimizer.Grains.Backends;

/// <summary>
/// One dataset's compute on one backend (key <see cref="IBackendGrain.KeyFor"/>), on a GPU silo when there is one:
/// reads the dataset from the backend's store (shared by the silos) and computes every strategy's metrics in the
/// backend's engine (ILGPU on CUDA there, unless the key says CPU only), off the silo's scheduler. A dataset is named by
/// the SHA-256 of its content, so its metrics never change: they are computed once per activation, and the many jobs
/// over one file ask the same grain.
/// </summary>
[GpuPlacement]
public sealed class BackendGrain(IBackendProvider backends, IServiceProvider services, ILocalSiloDetails silo) : Grain, IBackendGrain
{
    /// <summary>Numbers per strategy in <see cref="ComputeMetrics"/>'s result.</summary>
    public const int Fields = 8;

    private double[]? _computed;

    /// <inheritdoc />
    public async Task<double[]> ComputeMetrics() => _computed ??= await Task.Run(ComputeAsync);

    private async Task<double[]> ComputeAsync()
    {
        var key = this.GetPrimaryKeyString();
        var cpuOnly = key.EndsWith(IBackendGrain.CpuOnly, StringComparison.Ordinal);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var (name, fingerprint) = (key[..slash], key[(slash + 1)..^(cpuOnly ? IBackendGrain.CpuOnly.Length : 0)]);
        var backend = await backends.GetAsync(name == "parquet" && cpuOnly ? BackendProvider.ParquetOnCpu : name, CancellationToken.None);
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
