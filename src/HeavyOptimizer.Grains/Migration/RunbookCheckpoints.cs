using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The legacy runbook's rollback checkpoints 1.1-3.2 as presets: what each section's <c>sed</c> lines and
/// <c>mv ... .disabled</c> did to the settings, applied in one audited step (<c>hopt rollback --checkpoint ID</c>).
/// Steps with no setting behind them (restarting the processor, commenting out workflow code) need nothing: every
/// change applies live.
/// </summary>
public static class RunbookCheckpoints
{
    /// <summary>One checkpoint: its runbook number and title, what it sets, and the settings it makes from the current ones.</summary>
    public sealed record Preset(string Id, string Title, string Effect, Func<MigrationConfig, MigrationConfig?, MigrationConfig> Apply);

    /// <summary>Every checkpoint, in the runbook's order.</summary>
    public static readonly IReadOnlyList<Preset> All =
    [
        new("1.1", "Infrastructure setup: dual-write infrastructure fails", "heavydb_only, dual-write off, Parquet disabled",
            (c, _) => HeavyDbOnly(c) with { DisabledBackends = Disable(c, MigrationPolicy.Parquet) }),
        new("1.2", "Data validation framework causes performance issues", "validation off, rollback on validation failure off",
            (c, _) => c with { ValidationEnabled = false, RollbackOnValidationFailure = false }),
        new("1.3", "Performance monitoring overhead", "log_backend_performance off (the controller's window is always kept)",
            (c, _) => c with { LogBackendPerformance = false }),
        new("2.1", "Traffic routing: Parquet shows errors or slowness", "dual_write with HeavyDB primary, Parquet traffic 0 %",
            (c, _) => PhaseMachine.Enter(c with { Phase = MigrationPhase.CutOver }, MigrationPhase.DualWrite)),
        new("2.2", "Blue-green: back to the blue environment (HeavyDB)", "heavydb_only: every job on HeavyDB, dual-write off",
            (c, _) => HeavyDbOnly(c)),
        new("2.3", "Data consistency issues detected", "dual_write with HeavyDB primary, traffic 0 %, validation on and strict",
            (c, _) => PhaseMachine.Enter(c with { Phase = MigrationPhase.CutOver }, MigrationPhase.DualWrite) with { ValidationEnabled = true, StrictValidation = true }),
        new("3.1", "Performance regression on Parquet", "heavydb_only, dual-write off, Parquet disabled",
            (c, _) => HeavyDbOnly(c) with { DisabledBackends = Disable(c, MigrationPolicy.Parquet) }),
        new("3.2", "System stability issues with Parquet", "the last-known-good settings (the configuration backup), else heavydb_only",
            (c, good) => good is not null && good.PrimaryBackend == MigrationPolicy.HeavyDb ? good : HeavyDbOnly(c)),
    ];

    /// <summary>The checkpoint <paramref name="id"/>, or an error listing them.</summary>
    public static Preset Find(string id) =>
        All.FirstOrDefault(p => p.Id == id?.Trim()) ?? throw new ArgumentException($"checkpoint '{id}': one of {string.Join(", ", All.Select(p => p.Id))} (hopt rollback --list)");

    private static MigrationConfig HeavyDbOnly(MigrationConfig c) => PhaseMachine.Enter(c, MigrationPhase.HeavyDbOnly) with { DisabledBackends = c.DisabledBackends.Where(b => b != MigrationPolicy.HeavyDb).ToArray() };

    private static string[] Disable(MigrationConfig c, string backend) => c.DisabledBackends.Where(b => b != MigrationPolicy.HeavyDb).Append(backend).Distinct().Order(StringComparer.Ordinal).ToArray();
}
