using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Admin.Commands;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>What <c>hopt health</c> calls healthy, degraded and unhealthy, phase by phase.</summary>
public sealed class HealthVerdictTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static int Verdict(MigrationConfig config, string? down = null, string silo = "active", int backendFailures = 0, DateTimeOffset? oldestWaiting = null)
    {
        var report = new HealthReport
        {
            Phase = config.Phase,
            Primary = config.PrimaryBackend,
            Secondary = HealthCommand.Mirror(config),
            Serving = HealthCommand.Serving(config),
            Silos = [new SiloHealth("S127.0.0.1:11111:1", silo, false)],
            BackendFailuresLastHour = backendFailures,
            Backends = [new BackendProbe("heavydb", down != "heavydb", 1, "x"), new BackendProbe("parquet", down != "parquet", 1, "x")],
        };
        return HealthCommand.Verdict(report, oldestWaiting, Now).Code;
    }

    [Fact]
    public void A_backend_counts_only_where_jobs_use_it()
    {
        var heavyOnly = new MigrationConfig { Phase = MigrationPhase.HeavyDbOnly };
        Assert.Equal(HealthCommand.Healthy, Verdict(heavyOnly));
        Assert.Equal(HealthCommand.Healthy, Verdict(heavyOnly, down: "parquet"));
        Assert.Equal(HealthCommand.Unhealthy, Verdict(heavyOnly, down: "heavydb"));

        var dual = new MigrationConfig { Phase = MigrationPhase.DualWrite, DualWrite = true };
        Assert.Equal(HealthCommand.Degraded, Verdict(dual, down: "parquet"));
        Assert.Equal(HealthCommand.Unhealthy, Verdict(dual, down: "heavydb"));

        var half = new MigrationConfig { Phase = MigrationPhase.CutOver, TrafficPercentParquet = 50 };
        Assert.Equal(HealthCommand.Unhealthy, Verdict(half, down: "parquet"));
        Assert.Equal(HealthCommand.Healthy, Verdict(half with { DisabledBackends = ["parquet"] }, down: "parquet"));
    }

    [Fact]
    public void Silos_failures_and_waiting_jobs_move_the_verdict()
    {
        var config = new MigrationConfig();
        Assert.Equal(HealthCommand.Unhealthy, Verdict(config, silo: "joining"));
        Assert.Equal(HealthCommand.Degraded, Verdict(config, backendFailures: 1));
        Assert.Equal(HealthCommand.Degraded, Verdict(config, oldestWaiting: Now.AddMinutes(-11)));
        Assert.Equal(HealthCommand.Healthy, Verdict(config, oldestWaiting: Now.AddMinutes(-2)));
    }
}
