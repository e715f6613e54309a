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
        var config = MigrationIni.Target(Runbook, new MigrationConfig(), false, out var notes);

        Assert.Equal((MigrationPhase.DualWrite, true, "heavydb", "parquet", 0), (config.Phase, config.DualWrite, config.PrimaryBackend, config.SecondaryBackend, config.TrafficPercentParquet));
        Assert.Empty(notes);
    }

    [Fact]
    public void Export_then_import_gives_the_same_settings()
    {
        var config = new MigrationConfig
        {
            Phase = MigrationPhase.CutOver, DualWrite = true, TrafficPercentParquet = 25, StrictValidation = true, GpuEnabled = false,
            LogBackendPerformance = false, Version = 7,
        };
        var back = MigrationIni.Target(MigrationIni.Export(config), new MigrationConfig { Version = 7 }, false, out _);

        Assert.Equal(config, back with { DisabledBackends = config.DisabledBackends });
        Assert.Contains("traffic_percentage_parquet = 25", MigrationIni.Export(config), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[SYSTEM]\nmigration_phase = half_way\n[MIGRATION]", "line 2, migration_phase: 'half_way'")]
    [InlineData("[SYSTEM]\n[MIGRATION]\ntraffic_percentage_parquet = 150", "line 3, traffic_percentage_parquet")]
    [InlineData("[SYSTEM]\n[MIGRATION]\nenable_dual_write = maybe", "is not true or false")]
    [InlineData("[SYSTEM]\njust words\n[MIGRATION]", "line 2")]
    [InlineData("migration_phase = dual_write\n[SYSTEM]\n[MIGRATION]", "line 1: migration_phase comes before any section")]
    [InlineData("[SYSTEM]\n[MIGRATION]\nmigration_phase = dual_write", "line 3: migration_phase belongs in [SYSTEM], not [MIGRATION]")]
    [InlineData("[SYSTEM]\n[MIGRATION]\nenable_dual_write = true\nenable_dual_write = false", "line 4: enable_dual_write is set twice")]
    [InlineData("[SYSTEM]\nDATA_BACKEND = parquet\nmigration_phase = dual_write\n[MIGRATION]", "DATA_BACKEND = parquet contradicts the rest of the file")]
    [InlineData("[MIGRATION]\nenable_dual_write = true", "no [SYSTEM] section")]
    [InlineData("[SYSTEM]\n[MIGRATION]\n[LOGGING]\nlevel = debug", "line 3: unknown section [LOGGING]")]
    [InlineData("[SYSTEM]\n[MIGRATION]\nvalidaton_enabled = true", "line 3: unknown key validaton_enabled in [MIGRATION]")]
    [InlineData("[SYSTEM]\n[MIGRATION]\ndeployment_environment = purple", "line 3, deployment_environment: 'purple' is not blue or green")]
    [InlineData("[SYSTEM]\n[MIGRATION]\ntrack_migration_metrics = maybe", "line 3, track_migration_metrics: 'maybe' is not true or false")]
    public void Bad_files_are_errors_naming_the_line(string ini, string expected)
    {
        var e = Assert.Throws<FormatException>(() => MigrationIni.Target(ini, new MigrationConfig(), false, out _));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_keys_and_sections_are_skipped_only_when_allowed_and_legacy_keys_are_named_as_having_no_effect()
    {
        var config = MigrationIni.Target("[SYSTEM]\nworkers = 8\n[MIGRATION]\ntrack_migration_metrics = false\ndeployment_environment = green\n[LOGGING]\nlevel = debug\n",
            new MigrationConfig(), true, out var notes);

        Assert.Equal(new MigrationConfig().Phase, config.Phase);
        Assert.Equal(4, notes.Count);
        Assert.Contains("line 2: unknown key workers in [SYSTEM]: skipped", notes);
        Assert.Contains(notes, n => n.StartsWith("line 4: track_migration_metrics is a legacy setting with no effect", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("line 5: deployment_environment is a legacy setting with no effect", StringComparison.Ordinal));
        Assert.DoesNotContain("track_migration_metrics", MigrationIni.Export(config), StringComparison.Ordinal);
    }

    [Fact]
    public void The_phase_a_file_names_brings_that_phases_settings_and_stated_keys_override_them()
    {
        var cutOver = new MigrationConfig { Phase = MigrationPhase.CutOver, TrafficPercentParquet = 100 };

        var dual = MigrationIni.Target("[SYSTEM]\nmigration_phase = dual_write\n[MIGRATION]\n", cutOver, false, out _);
        Assert.Equal((true, 0, "heavydb"), (dual.DualWrite, dual.TrafficPercentParquet, dual.PrimaryBackend));

        var stated = MigrationIni.Target("[SYSTEM]\nmigration_phase = parquet_only\n[MIGRATION]\ntraffic_percentage_parquet = 50\n", cutOver, false, out _);
        Assert.Equal(50, stated.TrafficPercentParquet);
        Assert.NotNull(PhaseMachine.Inconsistency(stated));
    }
}
