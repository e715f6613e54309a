using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Grains.Migration;

namespace HeavyOptimizer.Grains.Tests;

public class MigrationIniTests
{
    /// <summary>The block from the operators' runbook, comments and all.</summary>
    private const string Runbook = """
        [SYSTEM]
        # Primary backend selection
        DATA_BACKEND = heavydb          # Options: heavydb, parquet
        migration_phase = dual_write    # Options: heavydb_only, dual_write, cut_over, parquet_only

        [MIGRATION]
        # Dual-write configuration
        enable_dual_write = true
        primary_backend = heavydb
        secondary_backend = parquet
        validation_enabled = true
        rollback_on_validation_failure = true

        # Cut-over configuration
        traffic_percentage_parquet = 0   # 0-100: Percentage of jobs routed to Parquet
        """;

    [Fact]
    public void Reads_the_runbooks_ini_block()
    {
        var config = MigrationIni.Import(Runbook, new MigrationConfig(), out var ignored);

        Assert.Equal((MigrationPhase.DualWrite, true, "heavydb", "parquet", 0), (config.Phase, config.DualWrite, config.PrimaryBackend, config.SecondaryBackend, config.TrafficPercentParquet));
        Assert.Empty(ignored);
    }

    [Fact]
    public void Export_then_import_gives_the_same_settings()
    {
        var config = new MigrationConfig
        {
            Phase = MigrationPhase.CutOver, DualWrite = true, TrafficPercentParquet = 25, StrictValidation = true,
            DeploymentEnvironment = "green", GpuEnabled = false, Version = 7,
        };
        var back = MigrationIni.Import(MigrationIni.Export(config), new MigrationConfig { Version = 7 }, out _);

        Assert.Equal(config, back with { DisabledBackends = config.DisabledBackends });
        Assert.Contains("traffic_percentage_parquet = 25", MigrationIni.Export(config), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("migration_phase = half_way", "line 1, migration_phase: 'half_way'")]
    [InlineData("[MIGRATION]\ntraffic_percentage_parquet = 150", "line 2, traffic_percentage_parquet")]
    [InlineData("enable_dual_write = maybe", "is not true or false")]
    [InlineData("just words", "line 1")]
    public void Bad_values_are_errors_naming_the_line(string ini, string expected)
    {
        var e = Assert.Throws<FormatException>(() => MigrationIni.Import(ini, new MigrationConfig(), out _));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_that_are_not_migration_settings_are_reported_not_applied()
    {
        MigrationIni.Import("[SYSTEM]\nworkers = 8\n", new MigrationConfig(), out var ignored);
        Assert.Equal(["line 2: workers"], ignored);
    }
}
