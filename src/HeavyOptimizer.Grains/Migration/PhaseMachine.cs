using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>How a phase change relates to the migration's order heavydb_only -> dual_write -> cut_over -> parquet_only.</summary>
public enum PhaseMove
{
    /// <summary>To the phase it is in: re-applies that phase's settings.</summary>
    Same,

    /// <summary>One step forward: allowed when the step's guard holds, or forced.</summary>
    Forward,

    /// <summary>Backward, any distance: a rollback, always allowed.</summary>
    Backward,

    /// <summary>Forward over a phase: only forced.</summary>
    Skip,
}

/// <summary>
/// The one table of phase moves and the settings each phase implies, used alike by <c>hopt phase</c>, the ini import,
/// checkpoint restores and the automatic rollback (docs/RUNBOOK.md shows it). Forward moves go one step at a time and
/// are guarded (<see cref="MigrationPolicy"/> checks the window); backward moves are the runbook's rollbacks and are
/// always allowed; skipping a phase needs force.
/// </summary>
public static class PhaseMachine
{
    /// <summary>How moving from <paramref name="from"/> to <paramref name="to"/> is classified.</summary>
    public static PhaseMove Classify(MigrationPhase from, MigrationPhase to) => (to - from) switch
    {
        0 => PhaseMove.Same,
        1 => PhaseMove.Forward,
        < 0 => PhaseMove.Backward,
        _ => PhaseMove.Skip,
    };

    /// <summary>
    /// The settings of <paramref name="config"/> moved into <paramref name="phase"/>, as the runbook pairs them:
    /// heavydb_only: HeavyDB primary, dual-write off, traffic 0; dual_write: HeavyDB primary mirrored to Parquet,
    /// traffic 0; cut_over: HeavyDB primary for the share not routed to Parquet, traffic and dual-write kept;
    /// parquet_only: Parquet primary, dual-write off, traffic 100.
    /// </summary>
    public static MigrationConfig Enter(MigrationConfig config, MigrationPhase phase)
    {
        ArgumentNullException.ThrowIfNull(config);
        return phase switch
        {
            MigrationPhase.HeavyDbOnly => config with { Phase = phase, PrimaryBackend = MigrationPolicy.HeavyDb, SecondaryBackend = MigrationPolicy.Parquet, DualWrite = false, TrafficPercentParquet = 0 },
            MigrationPhase.DualWrite => config with
            {
                Phase = phase,
                PrimaryBackend = config.Phase == MigrationPhase.DualWrite ? config.PrimaryBackend : MigrationPolicy.HeavyDb,
                SecondaryBackend = config.Phase == MigrationPhase.DualWrite ? config.SecondaryBackend : MigrationPolicy.Parquet,
                DualWrite = true,
                TrafficPercentParquet = 0,
            },
            MigrationPhase.CutOver => config with
            {
                Phase = phase,
                PrimaryBackend = MigrationPolicy.HeavyDb,
                SecondaryBackend = MigrationPolicy.Parquet,
                DualWrite = config.Phase is MigrationPhase.DualWrite or MigrationPhase.CutOver && config.DualWrite,
            },
            _ => config with { Phase = phase, PrimaryBackend = MigrationPolicy.Parquet, SecondaryBackend = MigrationPolicy.HeavyDb, DualWrite = false, TrafficPercentParquet = 100 },
        };
    }

    /// <summary>
    /// Why <paramref name="config"/> cannot be in force (a combination whose settings would not do what they say), or
    /// null when it is consistent.
    /// </summary>
    public static string? Inconsistency(MigrationConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var phase = MigrationPhases.Name(config.Phase);
        if (config.PrimaryBackend is not (MigrationPolicy.HeavyDb or MigrationPolicy.Parquet) || config.SecondaryBackend is not (MigrationPolicy.HeavyDb or MigrationPolicy.Parquet))
        {
            return $"primary_backend {config.PrimaryBackend} and secondary_backend {config.SecondaryBackend}: each is heavydb or parquet";
        }

        if (config.PrimaryBackend == config.SecondaryBackend)
        {
            return $"primary_backend and secondary_backend are both {config.PrimaryBackend}: a backend cannot mirror itself";
        }

        if (config.DisabledBackends.Any(b => b is not (MigrationPolicy.HeavyDb or MigrationPolicy.Parquet)) || config.DisabledBackends.Distinct().Count() >= 2)
        {
            return $"disabled backends {string.Join(", ", config.DisabledBackends)}: heavydb or parquet, never both (no backend for any job)";
        }

        if (config.TrafficPercentParquet is < 0 or > 100)
        {
            return $"traffic_percentage_parquet {config.TrafficPercentParquet}: a percentage, 0..100";
        }

        return config.Phase switch
        {
            MigrationPhase.HeavyDbOnly when config.PrimaryBackend != MigrationPolicy.HeavyDb => $"{phase} runs every job on heavydb: primary_backend cannot be {config.PrimaryBackend}",
            MigrationPhase.HeavyDbOnly or MigrationPhase.ParquetOnly when config.DualWrite => $"{phase} mirrors nothing: enable_dual_write must be false (dual-write belongs to dual_write and cut_over)",
            MigrationPhase.HeavyDbOnly or MigrationPhase.DualWrite when config.TrafficPercentParquet != 0 => $"{phase} routes no traffic by percentage: traffic_percentage_parquet must be 0 (traffic belongs to cut_over)",
            MigrationPhase.DualWrite when !config.DualWrite => $"{phase} mirrors every job: enable_dual_write must be true",
            MigrationPhase.CutOver when config.PrimaryBackend != MigrationPolicy.HeavyDb => $"{phase} routes traffic_percentage_parquet % of jobs to parquet and the rest to heavydb: primary_backend must be heavydb",
            MigrationPhase.ParquetOnly when config.PrimaryBackend != MigrationPolicy.Parquet => $"{phase} runs every job on parquet: primary_backend cannot be {config.PrimaryBackend}",
            MigrationPhase.ParquetOnly when config.TrafficPercentParquet != 100 => $"{phase} sends every job to parquet: traffic_percentage_parquet must be 100, not {config.TrafficPercentParquet}",
            _ => null,
        };
    }

    /// <summary>The backend the legacy <c>DATA_BACKEND</c> key names for <paramref name="config"/>: where most jobs' results come from.</summary>
    public static string DataBackend(MigrationConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Phase switch
        {
            MigrationPhase.HeavyDbOnly => MigrationPolicy.HeavyDb,
            MigrationPhase.DualWrite => config.PrimaryBackend,
            MigrationPhase.CutOver => config.TrafficPercentParquet == 100 ? MigrationPolicy.Parquet : MigrationPolicy.HeavyDb,
            _ => MigrationPolicy.Parquet,
        };
    }

    /// <summary>The settings that may change only in a given phase, and which phase that is, for the refusal's message.</summary>
    public static string? OnlyIn(MigrationConfig config, string setting)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Phase == MigrationPhase.CutOver
            ? null
            : $"{setting} applies only in cut_over (the phase is {MigrationPhases.Name(config.Phase)}); {setting switch
            {
                "traffic" => "the Parquet share is 0 before cut_over and 100 in parquet_only",
                _ => "dual_write always mirrors, heavydb_only and parquet_only never do",
            }}";
    }
}
