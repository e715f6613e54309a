using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// <c>hopt health</c>: the legacy health script's fields from the cluster's state, and an exit code a monitoring system
/// reads: 0 healthy, 1 degraded, 2 unhealthy, 3 unknown (the cluster could not be reached).
/// </summary>
internal static class HealthCommand
{
    public const int Healthy = 0, Degraded = 1, Unhealthy = 2, Unknown = 3;

    public static Command Create() => ClusterCommands.ClusterCommand("health", "Cluster health for monitors: exit 0 healthy, 1 degraded, 2 unhealthy, 3 unreachable", [], async (_, client, json, ct) =>
    {
        var status = await client.Controller.GetStatus(0);
        var probe = await client.Index.Probe();
        var now = DateTimeOffset.UtcNow;
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var jobs = (await client.JobsAsync(today.AddDays(-1), null, ct)).Concat(await client.JobsAsync(today, null, ct)).ToList();
        var finished = jobs.Where(j => j is { IsFinished: true, FinishedAt: not null }).ToList();
        var last = finished.MaxBy(j => j.FinishedAt);
        var report = new HealthReport
        {
            Phase = status.Config.Phase,
            Primary = status.Config.PrimaryBackend,
            Secondary = Mirror(status.Config),
            Serving = Serving(status.Config),
            DisabledBackends = status.Config.DisabledBackends,
            Silos = probe.Silos,
            SlotsInUse = status.Queue?.Running ?? new Dictionary<string, int>(),
            Queued = status.Queue?.Waiting ?? 0,
            Running = jobs.Count(j => j.State == JobState.Running),
            CompletedLast10Minutes = finished.Count(j => j.State == JobState.Completed && j.FinishedAt >= now.AddMinutes(-10)),
            BackendFailuresLastHour = finished.Count(j => j is { State: JobState.Failed, Cause: FailureCause.Backend } && j.FinishedAt >= now.AddHours(-1)),
            LastJobSeconds = last?.StartedAt is { } started ? (last.FinishedAt!.Value - started).TotalSeconds : null,
            Backends = probe.Backends,
        };
        var (code, reasons) = Verdict(report, status.Queue?.OldestWaiting, now);
        report = report with { Status = code switch { Healthy => "healthy", Degraded => "degraded", _ => "unhealthy" }, Reasons = reasons };
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(report, ClusterCommands.Json));
        }
        else
        {
            Print(report);
        }

        return code;
    }, unreachable: Unknown);

    /// <summary>
    /// Unhealthy: no active silo, or a backend new jobs run on does not answer. Degraded: the mirror does not answer, a
    /// backend-cause failure in the last hour, a silo joining or leaving, or a job waiting over ten minutes.
    /// </summary>
    public static (int Code, IReadOnlyList<string> Reasons) Verdict(HealthReport report, DateTimeOffset? oldestWaiting, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(report);
        var bad = new List<string>();
        var poor = new List<string>();
        if (!report.Silos.Any(s => s.Status == "active"))
        {
            bad.Add("no active silo");
        }

        foreach (var backend in report.Backends.Where(b => !b.Healthy))
        {
            (report.Serving.Contains(backend.Backend) ? bad : backend.Backend == report.Secondary ? poor : []).Add($"backend {backend.Backend} does not answer: {backend.Detail}");
        }

        if (report.BackendFailuresLastHour > 0)
        {
            poor.Add($"{report.BackendFailuresLastHour} backend-cause job failures in the last hour");
        }

        poor.AddRange(report.Silos.Where(s => s.Status != "active").Select(s => $"silo {s.Silo} is {s.Status}"));
        if (oldestWaiting is { } since && now - since > TimeSpan.FromMinutes(10))
        {
            poor.Add($"a job has waited {(now - since).TotalMinutes:F0} minutes for a slot");
        }

        return (bad.Count > 0 ? Unhealthy : poor.Count > 0 ? Degraded : Healthy, [.. bad, .. poor]);
    }

    /// <summary>The backend new jobs are mirrored to under <paramref name="c"/>, or null when nothing is mirrored.</summary>
    public static string? Mirror(MigrationConfig c) =>
        c.Phase == MigrationPhase.DualWrite || c is { Phase: MigrationPhase.CutOver, DualWrite: true } ? c.SecondaryBackend : null;

    /// <summary>The backends new jobs take as primary under <paramref name="c"/>, disabled ones left out.</summary>
    public static IReadOnlyList<string> Serving(MigrationConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        IEnumerable<string> serving = c.Phase switch
        {
            MigrationPhase.HeavyDbOnly => ["heavydb"],
            MigrationPhase.DualWrite => [c.PrimaryBackend],
            MigrationPhase.CutOver => new[] { ("heavydb", c.TrafficPercentParquet < 100), ("parquet", c.TrafficPercentParquet > 0) }.Where(p => p.Item2).Select(p => p.Item1),
            _ => ["parquet"],
        };
        var enabled = serving.Where(b => !c.DisabledBackends.Contains(b)).ToList();
        return enabled.Count > 0 ? enabled : new[] { "heavydb", "parquet" }.Where(b => !c.DisabledBackends.Contains(b)).ToList();
    }

    private static void Print(HealthReport r)
    {
        Console.WriteLine($"{r.Status}: phase {MigrationPhases.Name(r.Phase)}, primary {r.Primary}{(r.Secondary is { } s ? $", secondary {s}" : string.Empty)}, " +
                          $"disabled backends {(r.DisabledBackends.Count == 0 ? "none" : string.Join(",", r.DisabledBackends))}");
        foreach (var silo in r.Silos)
        {
            Console.WriteLine($"  silo {silo.Silo}: {silo.Status}, GPU {(silo.Gpu ? "yes" : "no")}, jobs running {r.SlotsInUse.GetValueOrDefault(silo.Silo)}");
        }

        Console.WriteLine($"  jobs queued {r.Queued}, running {r.Running}; completed in the last 10 minutes {r.CompletedLast10Minutes}; backend failures in the last hour {r.BackendFailuresLastHour}; " +
                          $"last job {(r.LastJobSeconds is { } t ? t.ToString("F2", CultureInfo.InvariantCulture) + " s" : "-")}");
        foreach (var b in r.Backends)
        {
            Console.WriteLine($"  backend {b.Backend}: {(b.Healthy ? "ok" : "DOWN")} in {b.Milliseconds:F0} ms: {b.Detail}");
        }

        foreach (var reason in r.Reasons)
        {
            Console.WriteLine($"  ! {reason}");
        }
    }
}

/// <summary>What <c>hopt health</c> reports.</summary>
internal sealed record HealthReport
{
    public string Status { get; init; } = "unknown";

    public IReadOnlyList<string> Reasons { get; init; } = [];

    public MigrationPhase Phase { get; init; }

    public string Primary { get; init; } = string.Empty;

    public string? Secondary { get; init; }

    public IReadOnlyList<string> DisabledBackends { get; init; } = [];

    /// <summary>The backends new jobs run on as their primary (in cut_over, both while traffic is between 0 and 100 %).</summary>
    public IReadOnlyList<string> Serving { get; init; } = [];

    public IReadOnlyList<SiloHealth> Silos { get; init; } = [];

    public IReadOnlyDictionary<string, int> SlotsInUse { get; init; } = new Dictionary<string, int>();

    public int Queued { get; init; }

    public int Running { get; init; }

    public int CompletedLast10Minutes { get; init; }

    public int BackendFailuresLastHour { get; init; }

    public double? LastJobSeconds { get; init; }

    public IReadOnlyList<BackendProbe> Backends { get; init; } = [];
}
