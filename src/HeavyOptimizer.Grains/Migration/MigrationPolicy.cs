using System.Security.Cryptography;
using System.Text;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// The migration controller's rules, free of Orleans so they can be tested directly: routing, guarded changes with an
/// append-only audit, checkpoints and rollbacks, the sliding window of job outcomes and the automatic rollback
/// triggers. The grain persists <see cref="State"/> after every call that changes it.
/// </summary>
public sealed class MigrationPolicy(MigrationControllerState state, MigrationPolicyOptions options, TimeProvider time)
{
    /// <summary>Backend names.</summary>
    public const string HeavyDb = "heavydb";

    /// <summary>Backend names.</summary>
    public const string Parquet = "parquet";

    /// <summary>The state the rules act on.</summary>
    public MigrationControllerState State { get; } = state;

    /// <summary>
    /// The route of a job: a function of its id and the settings, so the same id gets the same route at the same
    /// config version (replays are reproducible). In cut-over, ids whose bucket (0..99, from SHA-256 of the id) is
    /// below the Parquet percentage go to Parquet.
    /// </summary>
    public Route RouteFor(string jobId)
    {
        var c = State.Config;
        var primary = c.Phase switch
        {
            MigrationPhase.HeavyDbOnly => HeavyDb,
            MigrationPhase.DualWrite => c.PrimaryBackend,
            MigrationPhase.CutOver => Bucket(jobId) < c.TrafficPercentParquet ? Parquet : HeavyDb,
            MigrationPhase.ParquetOnly => Parquet,
            _ => HeavyDb,
        };
        var other = primary == Parquet ? HeavyDb : Parquet;
        if (c.DisabledBackends.Contains(primary) && !c.DisabledBackends.Contains(other))
        {
            (primary, other) = (other, primary);
        }

        var mirrored = c.DualWrite && c.Phase is MigrationPhase.DualWrite or MigrationPhase.CutOver && !c.DisabledBackends.Contains(other);
        return new Route(primary, mirrored ? other : null, c.Version, mirrored && c.ValidationEnabled);
    }

    /// <summary>0..99 from the job id, the same on every machine and runtime.</summary>
    public static int Bucket(string jobId) =>
        (int)(BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(jobId)), 0) % 100);

    /// <summary>Moves to <paramref name="phase"/> with the settings the runbook pairs with it; guarded unless forced.</summary>
    public AuditEntry SetPhase(MigrationPhase phase, bool force, string who, string why)
    {
        if (!force)
        {
            Guard(phase);
        }

        return Change(force ? $"phase {Name(phase)} (forced)" : $"phase {Name(phase)}", who, why, c => phase switch
        {
            MigrationPhase.HeavyDbOnly => c with { Phase = phase, PrimaryBackend = HeavyDb, DualWrite = false, TrafficPercentParquet = 0 },
            MigrationPhase.DualWrite => c with { Phase = phase, PrimaryBackend = HeavyDb, SecondaryBackend = Parquet, DualWrite = true },
            MigrationPhase.CutOver => c with { Phase = phase },
            _ => c with { Phase = phase, PrimaryBackend = Parquet, SecondaryBackend = HeavyDb, TrafficPercentParquet = 100 },
        });
    }

    /// <summary>Replaces the settings with imported ones (e.g. from the operators' ini); a phase change is guarded unless forced.</summary>
    public AuditEntry Import(MigrationConfig imported, bool force, string who, string why)
    {
        ArgumentNullException.ThrowIfNull(imported);
        if (!force && imported.Phase != State.Config.Phase)
        {
            Guard(imported.Phase);
        }

        return Change(force ? "import settings (forced)" : "import settings", who, why, c => imported with { Version = c.Version });
    }

    /// <summary>Sets the share of jobs routed to Parquet in cut-over.</summary>
    public AuditEntry SetTraffic(int percent, string who, string why) =>
        percent is < 0 or > 100
            ? throw new ArgumentOutOfRangeException(nameof(percent), percent, "traffic is a percentage, 0..100")
            : Change($"traffic {percent}", who, why, c => c with { TrafficPercentParquet = percent });

    /// <summary>Turns dual-write on or off.</summary>
    public AuditEntry SetDualWrite(bool on, string who, string why) =>
        Change($"dual-write {(on ? "on" : "off")}", who, why, c => c with { DualWrite = on });

    /// <summary>Takes a backend out of (or back into) service.</summary>
    public AuditEntry SetBackendDisabled(string backend, bool disabled, string who, string why)
    {
        if (backend is not (HeavyDb or Parquet))
        {
            throw new ArgumentException($"unknown backend '{backend}': heavydb or parquet");
        }

        return Change($"{(disabled ? "disable" : "enable")} {backend}", who, why, c => c with
        {
            DisabledBackends = disabled ? c.DisabledBackends.Append(backend).Distinct().ToArray() : c.DisabledBackends.Where(b => b != backend).ToArray(),
        });
    }

    /// <summary>Saves the current settings under <paramref name="name"/> (audited; the settings do not change).</summary>
    public AuditEntry Checkpoint(string name, string who, string why)
    {
        if (string.IsNullOrWhiteSpace(name) || name == "last-known-good")
        {
            throw new ArgumentException($"'{name}' cannot name a checkpoint");
        }

        var entry = Append($"checkpoint {name}", who, why, State.Config, State.Config);
        State.Checkpoints[name] = State.Config;
        return entry;
    }

    /// <summary>Restores a checkpoint, or the last-known-good settings with <c>last-known-good</c>.</summary>
    public AuditEntry RollbackTo(string name, string who, string why)
    {
        var target = name == "last-known-good"
            ? State.LastKnownGood ?? throw new MigrationGuardException("no last-known-good settings yet: no config has completed enough clean jobs")
            : State.Checkpoints.TryGetValue(name, out var saved) ? saved
            : throw new MigrationGuardException($"no checkpoint '{name}' (have: {string.Join(", ", State.Checkpoints.Keys.DefaultIfEmpty("none"))})");
        return Change($"rollback to {name}", who, why, c => target with { Version = c.Version });
    }

    /// <summary>heavydb_only, dual-write off, traffic 0, in one audited step; never refused.</summary>
    public AuditEntry EmergencyRollback(string who, string why) =>
        Change("emergency rollback", who, why, c => c with
        {
            Phase = MigrationPhase.HeavyDbOnly,
            PrimaryBackend = HeavyDb,
            DualWrite = false,
            TrafficPercentParquet = 0,
        });

    /// <summary>
    /// Adds a job outcome to the window, updates last-known-good, and applies the automatic rollback triggers; returns
    /// the audit entry of a rollback it made, or null. A job records its outcome before it saves itself finished, so an
    /// attempt cut short between the two reruns and records again: an outcome for a job already in the window is ignored.
    /// </summary>
    public AuditEntry? Record(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (State.Window.Exists(o => o.JobId == outcome.JobId))
        {
            return null;
        }
        State.Window.Add(outcome);
        State.JobsRecorded++;
        if (State.Window.Count > options.WindowSize)
        {
            State.Window.RemoveRange(0, State.Window.Count - options.WindowSize);
        }

        var clean = outcome.Succeeded && outcome.ConsistencyPassed != false;
        State.TroubleThisVersion |= !clean;
        State.CleanJobsThisVersion += clean ? 1 : 0;
        if (!State.TroubleThisVersion && State.CleanJobsThisVersion >= options.CleanJobsForLastKnownGood)
        {
            State.LastKnownGood = State.Config;
        }

        var trigger = Trigger(outcome);
        return trigger is null || State.Config.Phase == MigrationPhase.HeavyDbOnly && !State.Config.DualWrite
            ? null
            : Change("automatic rollback", "controller", trigger, c => c with
            {
                Phase = MigrationPhase.HeavyDbOnly,
                PrimaryBackend = HeavyDb,
                DualWrite = false,
                TrafficPercentParquet = 0,
            });
    }

    /// <summary>Per-backend counts, error rates and latency percentiles over the window, and the dual-write match rate.</summary>
    public MigrationStatus Status(int auditEntries = 10)
    {
        var backends = State.Window.GroupBy(o => o.Backend).OrderBy(g => g.Key).Select(g =>
        {
            var seconds = g.Select(o => o.Seconds).Order().ToArray();
            var errors = g.Count(o => !o.Succeeded);
            return new BackendStats(g.Key, seconds.Length, errors, (double)errors / seconds.Length, Percentile(seconds, 0.5), Percentile(seconds, 0.95));
        }).ToList();
        var compared = State.Window.Where(o => o.ConsistencyPassed is not null).ToList();
        var clean = compared.Count(o => o.ConsistencyPassed == true);
        return new MigrationStatus(State.Config, backends, compared.Count, clean,
            compared.Count == 0 ? 1 : (double)clean / compared.Count,
            State.Audit.TakeLast(auditEntries).ToList(), State.Checkpoints.Keys.Order().ToList(), State.JobsRecorded);
    }

    private void Guard(MigrationPhase phase)
    {
        if (phase == MigrationPhase.CutOver)
        {
            var clean = State.Window.Count(o => o.ConsistencyPassed == true && o.Succeeded);
            if (clean < options.CleanDualWriteJobsForCutOver)
            {
                throw new MigrationGuardException(
                    $"cut_over needs at least {options.CleanDualWriteJobsForCutOver} clean dual-write jobs in the window, there are {clean}; use --force to override (audited)");
            }
        }

        if (phase == MigrationPhase.ParquetOnly)
        {
            if (State.Config.TrafficPercentParquet != 100)
            {
                throw new MigrationGuardException(
                    $"parquet_only needs traffic at 100 %, it is {State.Config.TrafficPercentParquet} %; raise it with 'hopt traffic 100' or use --force (audited)");
            }

            var mismatches = State.Window.Count(o => o.ConsistencyPassed == false);
            if (mismatches > 0)
            {
                throw new MigrationGuardException(
                    $"parquet_only needs no consistency mismatch in the window, there are {mismatches}; use --force to override (audited)");
            }
        }
    }

    private string? Trigger(JobOutcome outcome)
    {
        if (outcome.ConsistencyPassed == false && State.Config.RollbackOnValidationFailure)
        {
            return $"consistency check failed for job {outcome.JobId}";
        }

        if (outcome.ResultVariance is { } variance && variance > options.MaxResultVariance)
        {
            return $"job {outcome.JobId}: primary and secondary results differ by {variance:P2} (limit {options.MaxResultVariance:P0})";
        }

        var parquet = State.Window.Where(o => o.Backend == Parquet && o.Succeeded).Select(o => o.Seconds).Order().ToArray();
        if (parquet.Length >= options.MinJobsForRuntime && Percentile(parquet, 0.95) > options.MaxParquetSeconds)
        {
            return $"Parquet job runtime p95 {Percentile(parquet, 0.95):F2} s over {parquet.Length} jobs exceeds {options.MaxParquetSeconds} s";
        }

        foreach (var backend in State.Window.GroupBy(o => o.Backend))
        {
            var count = backend.Count();
            var rate = (double)backend.Count(o => !o.Succeeded) / count;
            if (count >= options.MinJobsForErrorRate && rate > options.MaxErrorRate)
            {
                return $"{backend.Key} error rate {rate:P1} over {count} jobs exceeds {options.MaxErrorRate:P0}";
            }
        }

        return null;
    }

    private AuditEntry Change(string action, string who, string why, Func<MigrationConfig, MigrationConfig> mutate)
    {
        var before = State.Config;
        var after = mutate(before) with { Version = before.Version + 1 };
        var entry = Append(action, who, why, before, after);
        State.Config = after;
        State.CleanJobsThisVersion = 0;
        State.TroubleThisVersion = false;
        return entry;
    }

    private AuditEntry Append(string action, string who, string why, MigrationConfig before, MigrationConfig after)
    {
        if (string.IsNullOrWhiteSpace(why))
        {
            throw new ArgumentException("every change needs a reason (--reason)");
        }

        var entry = new AuditEntry(State.Audit.Count + 1, time.GetUtcNow(), string.IsNullOrWhiteSpace(who) ? "unknown" : who, action, why, before, after);
        State.Audit.Add(entry);
        return entry;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>The operators' name of a phase.</summary>
    public static string Name(MigrationPhase phase) => MigrationPhases.Name(phase);
}
