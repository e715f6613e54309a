using HeavyOptimizer.Grains.Migration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Orleans.Hosting;

/// <summary>Registers the Heavy Optimizer grains' services on a silo.</summary>
public static class HeavyOptimizerSiloExtensions
{
    /// <summary>
    /// The grains' services: the clock and the migration policy options. Grain state goes to the storage provider
    /// named <c>hopt</c>, which the host configures (memory in tests, ADO.NET in the silo host). Idempotent.
    /// </summary>
    public static ISiloBuilder AddHeavyOptimizerGrains(this ISiloBuilder builder, Action<MigrationPolicyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        var options = builder.Services.AddOptions<MigrationPolicyOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder;
    }
}
