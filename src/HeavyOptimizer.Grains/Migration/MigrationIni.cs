using System.Globalization;
using System.Text;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The operators' <c>production_config.ini</c> shape (SPEC section 9), for import and export: operators keep their
/// habits, the controller's state stays the source of truth. Unknown keys are kept out (and reported), bad values are
/// errors naming the line.
/// </summary>
public static class MigrationIni
{
    /// <summary>Writes <paramref name="config"/> in the legacy ini shape.</summary>
    public static string Export(MigrationConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var ini = new StringBuilder();
        ini.Append("[SYSTEM]\n");
        ini.Append(CultureInfo.InvariantCulture, $"DATA_BACKEND = {DataBackend(config)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"migration_phase = {MigrationPolicy.Name(config.Phase)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"gpu_enabled = {Bool(config.GpuEnabled)}\n\n");
        ini.Append("[MIGRATION]\n");
        ini.Append(CultureInfo.InvariantCulture, $"enable_dual_write = {Bool(config.DualWrite)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"primary_backend = {config.PrimaryBackend}\n");
        ini.Append(CultureInfo.InvariantCulture, $"secondary_backend = {config.SecondaryBackend}\n");
        ini.Append(CultureInfo.InvariantCulture, $"validation_enabled = {Bool(config.ValidationEnabled)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"rollback_on_validation_failure = {Bool(config.RollbackOnValidationFailure)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"traffic_percentage_parquet = {config.TrafficPercentParquet}\n");
        ini.Append(CultureInfo.InvariantCulture, $"enable_strict_validation = {Bool(config.StrictValidation)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"track_migration_metrics = {Bool(config.TrackMigrationMetrics)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"log_backend_performance = {Bool(config.LogBackendPerformance)}\n");
        ini.Append(CultureInfo.InvariantCulture, $"deployment_environment = {config.DeploymentEnvironment}\n");
        return ini.ToString();
    }

    /// <summary>
    /// Reads the settings an ini file states over <paramref name="current"/> (keys it leaves out keep their values);
    /// <paramref name="ignored"/> lists keys that are not migration settings.
    /// </summary>
    public static MigrationConfig Import(string text, MigrationConfig current, out IReadOnlyList<string> ignored)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(current);
        var config = current;
        var skipped = new List<string>();
        string? dataBackend = null;
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = StripComment(raw).Trim();
            if (line.Length == 0 || line.StartsWith('['))
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"line {lineNumber}: '{raw.Trim()}' is not KEY = VALUE");
            }

            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            string Where() => $"line {lineNumber}, {key}";
            config = key.ToLowerInvariant() switch
            {
                "data_backend" => Remember(ref dataBackend, Backend(value, Where()), config),
                "migration_phase" => config with { Phase = Phase(value, Where()) },
                "gpu_enabled" => config with { GpuEnabled = Bool(value, Where()) },
                "enable_dual_write" => config with { DualWrite = Bool(value, Where()) },
                "primary_backend" => config with { PrimaryBackend = Backend(value, Where()) },
                "secondary_backend" => config with { SecondaryBackend = Backend(value, Where()) },
                "validation_enabled" => config with { ValidationEnabled = Bool(value, Where()) },
                "rollback_on_validation_failure" => config with { RollbackOnValidationFailure = Bool(value, Where()) },
                "traffic_percentage_parquet" => config with { TrafficPercentParquet = Percent(value, Where()) },
                "enable_strict_validation" => config with { StrictValidation = Bool(value, Where()) },
                "track_migration_metrics" => config with { TrackMigrationMetrics = Bool(value, Where()) },
                "log_backend_performance" => config with { LogBackendPerformance = Bool(value, Where()) },
                "deployment_environment" => config with { DeploymentEnvironment = value is "blue" or "green" ? value : throw new FormatException($"{Where()}: '{value}' is not blue or green") },
                _ => Skip(skipped, $"line {lineNumber}: {key}", config),
            };
        }

        // DATA_BACKEND names where jobs go outside dual-write; it is the primary unless the file says otherwise.
        if (dataBackend is not null && !text.Contains("primary_backend", StringComparison.OrdinalIgnoreCase))
        {
            config = config with { PrimaryBackend = dataBackend };
        }

        ignored = skipped;
        return config;
    }

    private static string DataBackend(MigrationConfig c) => c.Phase switch
    {
        MigrationPhase.ParquetOnly => "parquet",
        MigrationPhase.CutOver when c.TrafficPercentParquet == 100 => "parquet",
        MigrationPhase.HeavyDbOnly => "heavydb",
        _ => c.PrimaryBackend,
    };

    private static MigrationConfig Remember(ref string? slot, string value, MigrationConfig config)
    {
        slot = value;
        return config;
    }

    private static MigrationConfig Skip(List<string> skipped, string what, MigrationConfig config)
    {
        skipped.Add(what);
        return config;
    }

    private static string StripComment(string line)
    {
        var hash = line.IndexOfAny(['#', ';']);
        return hash >= 0 ? line[..hash] : line;
    }

    private static string Bool(bool value) => value ? "true" : "false";

    private static bool Bool(string value, string where) => value.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw new FormatException($"{where}: '{value}' is not true or false"),
    };

    private static string Backend(string value, string where) =>
        value.ToLowerInvariant() is "heavydb" or "parquet" ? value.ToLowerInvariant() : throw new FormatException($"{where}: '{value}' is not heavydb or parquet");

    private static int Percent(string value, string where) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 100
            ? p
            : throw new FormatException($"{where}: '{value}' is not a percentage 0..100");

    private static MigrationPhase Phase(string value, string where)
    {
        try
        {
            return MigrationPhases.Parse(value);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{where}: {e.Message}", e);
        }
    }
}
