using HeavyOptimizer.Grains.Backends;
using HeavyOptimizer.Grains.Hosting;
using HeavyOptimizer.Grains.Jobs;
using HeavyOptimizer.Grains.Migration;
using HeavyOptimizer.Grains.Security;
using HeavyOptimizer.Grains.Storage;
using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Orleans.Hosting;

/// <summary>Registers the Heavy Optimizer grains' services on a silo.</summary>
public static class HeavyOptimizerSiloExtensions
{
    /// <summary>
    /// The grains' services: the clock, the data backends, the migration policy and the silo's job slots. Jobs, the
    /// queue, the audit and outcomes go to the cluster store (<see cref="UseHeavyOptimizerStore"/>), other grain state
    /// to the storage provider named <c>hopt</c>, job watchdogs to the reminder service, all of which the host
    /// configures (ADO.NET in the silo host). Idempotent.
    /// </summary>
    public static ISiloBuilder AddHeavyOptimizerGrains(
        this ISiloBuilder builder, Action<BackendHostOptions>? backends = null, Action<MigrationPolicyOptions>? policy = null, Action<JobSlotOptions>? slots = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IBackendProvider, BackendProvider>();
        if (!builder.Services.Any(s => s.ServiceType == typeof(JobSlots)))
        {
            builder.Services.AddSingleton<JobSlots>();
            builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<JobSlots>());
        }

        if (!builder.Services.Any(s => s.ServiceType == typeof(HeavyOptimizer.Grains.Observability.Alerts)))
        {
            builder.Services.AddSingleton<HeavyOptimizer.Grains.Observability.Alerts>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<HeavyOptimizer.Grains.Observability.Alerts>());
            builder.Services.AddOptions<HeavyOptimizer.Grains.Observability.AlertOptions>().ValidateOnStart();
            builder.Services.AddSingleton<IValidateOptions<HeavyOptimizer.Grains.Observability.AlertOptions>>(
                new ProblemsValidation<HeavyOptimizer.Grains.Observability.AlertOptions>("Alerts", o => o.Problems()));
        }

        var slotOptions = builder.Services.AddOptions<JobSlotOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobSlotOptions>>(new ProblemsValidation<JobSlotOptions>("Slots", o => o.Problems())));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MigrationPolicyOptions>>(new ProblemsValidation<MigrationPolicyOptions>("Migration", o => o.Problems())));
        if (slots is not null)
        {
            slotOptions.Configure(slots);
        }

        if (!builder.Services.Any(s => s.ServiceType == typeof(GpuPlacementDirector) || s.ImplementationType == typeof(GpuPlacementDirector)))
        {
            builder.Services.AddPlacementDirector<GpuPlacementStrategy, GpuPlacementDirector>();
        }

        var policyOptions = builder.Services.AddOptions<MigrationPolicyOptions>().ValidateOnStart();
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
    /// The cluster store (<see cref="ClusterStore"/>: jobs, queue, audit, outcomes) in the database at
    /// <paramref name="connectionString"/>, reached through <paramref name="factory"/> (SQLite or PostgreSQL); the host
    /// creates its tables first (<see cref="ClusterStore.EnsureSchemaAsync"/>).
    /// </summary>
    public static ISiloBuilder UseHeavyOptimizerStore(this ISiloBuilder builder, DbProviderFactory factory, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(sp => new ClusterStore(factory, connectionString, sp.GetService<TimeProvider>()));
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
