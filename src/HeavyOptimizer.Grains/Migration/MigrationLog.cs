using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The settings in words for the silo's log, using the words the legacy runbook's greps look for ("Backend ...
/// heavydb", "Routing ... parquet", "Traffic ... distribution", "Dual-write", "validation"), so its checks keep working.
/// </summary>
public static class MigrationLog
{
    /// <summary>What changed from <paramref name="before"/> to <paramref name="after"/>, as <c>name a -> b</c> pairs; "nothing" when equal.</summary>
    public static string Diff(MigrationConfig before, MigrationConfig after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = Fields(before).Zip(Fields(after))
            .Where(p => p.First.Value != p.Second.Value)
            .Select(p => $"{p.First.Name} {p.First.Value} -> {p.Second.Value}")
            .ToList();
        return changes.Count == 0 ? "settings unchanged" : string.Join(", ", changes);
    }

    /// <summary>The settings in force, in the runbook's words.</summary>
    public static string Describe(MigrationConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var parquet = config.Phase switch
        {
            MigrationPhase.HeavyDbOnly => 0,
            MigrationPhase.DualWrite => config.PrimaryBackend == MigrationPolicy.Parquet ? 100 : 0,
            MigrationPhase.CutOver => config.TrafficPercentParquet,
            _ => 100,
        };
        var backend = config.Phase switch
        {
            MigrationPhase.HeavyDbOnly => "Backend heavydb only",
            MigrationPhase.ParquetOnly => "Backend parquet only",
            MigrationPhase.DualWrite => $"Backend {config.PrimaryBackend} primary, mirrored to {config.SecondaryBackend}",
            _ => "Backend heavydb and parquet by traffic",
        };
        return $"{backend} (phase {MigrationPhases.Name(config.Phase)}, v{config.Version}); Routing {parquet} % of jobs to parquet; " +
               $"Traffic distribution: {100 - parquet} % heavydb, {parquet} % parquet; Dual-write {OnOff(config.DualWrite && config.Phase is MigrationPhase.DualWrite or MigrationPhase.CutOver)}; " +
               $"Backend validation {OnOff(config.ValidationEnabled)}, strict {OnOff(config.StrictValidation)}, rollback on validation failure {OnOff(config.RollbackOnValidationFailure)}; " +
               $"GPU {OnOff(config.GpuEnabled)}; disabled backends {(config.DisabledBackends.Count == 0 ? "none" : string.Join(",", config.DisabledBackends))}";
    }

    private static IEnumerable<(string Name, string Value)> Fields(MigrationConfig c)
    {
        yield return ("phase", MigrationPhases.Name(c.Phase));
        yield return ("primary", c.PrimaryBackend);
        yield return ("secondary", c.SecondaryBackend);
        yield return ("traffic", $"{c.TrafficPercentParquet} %");
        yield return ("dual-write", OnOff(c.DualWrite));
        yield return ("validation", OnOff(c.ValidationEnabled));
        yield return ("strict validation", OnOff(c.StrictValidation));
        yield return ("rollback on validation failure", OnOff(c.RollbackOnValidationFailure));
        yield return ("gpu", OnOff(c.GpuEnabled));
        yield return ("log backend performance", OnOff(c.LogBackendPerformance));
        yield return ("disabled", c.DisabledBackends.Count == 0 ? "none" : string.Join(",", c.DisabledBackends));
    }

    private static string OnOff(bool on) => on ? "on" : "off";
}
