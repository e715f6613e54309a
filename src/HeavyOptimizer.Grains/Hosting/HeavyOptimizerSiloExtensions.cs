using HeavyOptimizer.Grains.Backends;
using HeavyOptimizer.Grains.Jobs;
using HeavyOptimizer.Grains.Migration;
using HeavyOptimizer.Grains.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Orleans.Hosting;

/// <summary>Registers the Heavy Optimizer grains' services on a silo.</summary>
public static class HeavyOptimizerSiloExtensions
{
    /// <summary>
    /// The grains' services: the clock, the data backends and the migration policy. Grain state goes to the storage provider
    /// named <c>hopt</c> and job watchdogs to the reminder service, both of which the host configures (memory in tests,
    /// ADO.NET in the silo host). Idempotent.
    /// </summary>
    public static ISiloBuilder AddHeavyOptimizerGrains(
        this ISiloBuilder builder, Action<BackendHostOptions>? backends = null, Action<MigrationPolicyOptions>? policy = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IBackendProvider, BackendProvider>();
        if (!builder.Services.Any(s => s.ServiceType == typeof(GpuPlacementDirector) || s.ImplementationType == typeof(GpuPlacementDirector)))
        {
            builder.Services.AddPlacementDirector<GpuPlacementStrategy, GpuPlacementDirector>();
        }

        var policyOptions = builder.Services.AddOptions<MigrationPolicyOptions>();
        if (policy is not null)
        {
            policyOptions.Configure(policy);
        }

        var backendOptions = builder.Services.AddOptions<BackendHostOptions>();
        if (backends is not null)
        {
            backendOptions.Configure(backends);
        }

        return builder;
    }

    /// <summary>
    /// Identities and roles (<see cref="CallAuthorization"/>): every call must prove who makes it, and may only do what
    /// that caller's role allows; silos sign their own calls. Pass <see cref="ClusterSecurity"/> without an authority to
    /// record only how the silo runs (embedded, or insecure). Idempotent.
    /// </summary>
    public static ISiloBuilder AddHeavyOptimizerSecurity(this ISiloBuilder builder, ClusterSecurity security)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(security);
        if (builder.Services.Any(s => s.ServiceType == typeof(ClusterSecurity)))
        {
            return builder;
        }

        builder.Services.AddSingleton(security);
        if (security.Authority is not null)
        {
            builder.AddIncomingGrainCallFilter<CallAuthorization>();
            builder.AddOutgoingGrainCallFilter<SiloCallProof>();
        }

        return builder;
    }
}
