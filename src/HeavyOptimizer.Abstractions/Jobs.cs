using Orleans.Concurrency;

namespace HeavyOptimizer.Abstractions;

/// <summary>What a job asks for.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobSpec")]
public sealed record JobSpec
{
    /// <summary>The strategy CSV: a path every silo can read (the shared data root), or <c>upload:    /// <summary>The strategy CSV, a path every silo can read (the shared data root).</summary>lt;sha256    /// <summary>The strategy CSV, a path every silo can read (the shared data root).</summary>gt;</c> naming an upload (<see cref="IUploadGrain"/>).</summary>
    [Id(0)] public required string InputPath { get; init; }

    /// <summary>Portfolio size, 10..100.</summary>
    [Id(1)] public int PortfolioSize { get; init; } = 35;

    /// <summary>Seed; primary and secondary use the same one.</summary>
    [Id(2)] public ulong Seed { get; init; } = 42;

    /// <summary>Comma-separated algorithm codes; null for all eight.</summary>
    [Id(3)] public string? Algorithms { get; init; }

    /// <summary>Evaluation budget per algorithm; null for the SPEC defaults.</summary>
    [Id(4)] public long? MaxEvaluations { get; init; }

    /// <summary>Search time in seconds instead of budgets; null for budgets (deterministic).</summary>
    [Id(5)] public double? TimeLimitSeconds { get; init; }

    /// <summary>Where the run directory goes; null for the silo's configured output root.</summary>
    [Id(6)] public string? OutputRoot { get; init; }

    /// <summary>Run on this backend only (heavydb or parquet), whatever the migration settings say; for replays.</summary>
    [Id(7)] public string? BackendOverride { get; init; }

    /// <summary>The job this one replays, if any.</summary>
    [Id(8)] public string? ReplayOf { get; init; }
}

/// <summary>A job's life: Queued, Running, then one of Completed, Failed, Cancelled.</summary>
[GenerateSerializer]
[Alias("hopt.JobState")]
public enum JobState
{
    /// <summary>Accepted, not started.</summary>
    Queued = 0,

    /// <summary>Running on its route.</summary>
    Running = 1,

    /// <summary>Finished with a result.</summary>
    Completed = 2,

    /// <summary>Finished with an error.</summary>
    Failed = 3,

    /// <summary>Stopped on request.</summary>
    Cancelled = 4,
}

/// <summary>The primary's result, which is the job's.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobResult")]
public sealed record JobResult(
    [property: Id(0)] string Backend,
    [property: Id(1)] string Fingerprint,
    [property: Id(2)] string BestAlgorithm,
    [property: Id(3)] int BestSize,
    [property: Id(4)] double BestFitness,
    [property: Id(5)] IReadOnlyList<string> Strategies,
    [property: Id(6)] string RunDirectory,
    [property: Id(7)] double Seconds);

/// <summary>Where a running job's search stands: the algorithm searching, its evaluations and best fitness so far.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobProgress")]
public sealed record JobProgress(
    [property: Id(0)] string Algorithm,
    [property: Id(1)] int Size,
    [property: Id(2)] long Evaluations,
    [property: Id(3)] double BestFitness,
    [property: Id(4)] double Fraction);

/// <summary>
/// Primary against secondary, for one dual-write job. The data path (fingerprints, per-strategy metrics) is always
/// compared; the search's outputs (fitness, portfolio) only when the search is reproducible, i.e. bounded by budgets
/// rather than by a time limit (<see cref="SearchCompared"/>).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.ConsistencyReport")]
public sealed record ConsistencyReport(
    [property: Id(0)] string Primary,
    [property: Id(1)] string Secondary,
    [property: Id(2)] bool? Passed,
    [property: Id(3)] bool FingerprintsMatch,
    [property: Id(4)] double MaxMetricDifference,
    [property: Id(5)] double MaxFitnessDifference,
    [property: Id(6)] bool SamePortfolio,
    [property: Id(7)] IReadOnlyList<string> Problems,
    [property: Id(8)] string? SecondaryError,
    [property: Id(9)] double Tolerance,
    [property: Id(10)] bool SearchCompared = true);

/// <summary>Everything known about a job.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobStatus")]
public sealed record JobStatus
{
    /// <summary>Job id (the grain key).</summary>
    [Id(0)] public required string JobId { get; init; }

    /// <summary>State.</summary>
    [Id(1)] public JobState State { get; init; }

    /// <summary>The request.</summary>
    [Id(2)] public required JobSpec Spec { get; init; }

    /// <summary>Times the work was started.</summary>
    [Id(3)] public int Attempts { get; init; }

    /// <summary>When it was accepted.</summary>
    [Id(4)] public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>When it last started.</summary>
    [Id(5)] public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it finished.</summary>
    [Id(6)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The route it got (kept for its whole life, so config changes do not move a running job).</summary>
    [Id(7)] public Route? Route { get; init; }

    /// <summary>The primary's result.</summary>
    [Id(8)] public JobResult? Result { get; init; }

    /// <summary>The dual-write comparison, when mirrored.</summary>
    [Id(9)] public ConsistencyReport? Consistency { get; init; }

    /// <summary>Why it failed.</summary>
    [Id(10)] public string? Error { get; init; }

    /// <summary>The silo that ran the latest attempt.</summary>
    [Id(11)] public string? Silo { get; init; }

    /// <summary>While Running: where the primary's search stands (kept in memory by the job, never persisted).</summary>
    [Id(12)] public JobProgress? Progress { get; init; }

    /// <summary>True once Completed, Failed or Cancelled.</summary>
    public bool IsFinished => State is JobState.Completed or JobState.Failed or JobState.Cancelled;
}

/// <summary>One job, key = job id.</summary>
[Alias("hopt.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Accepts the job (idempotent: a second submit of the same id returns the job as it stands).</summary>
    [Alias("Submit")]
    Task<JobStatus> Submit(JobSpec spec);

    /// <summary>The job as it stands; answered while the job runs.</summary>
    [Alias("GetStatus")]
    [AlwaysInterleave]
    Task<JobStatus?> GetStatus();

    /// <summary>Asks a queued or running job to stop.</summary>
    [Alias("Cancel")]
    [AlwaysInterleave]
    Task<JobStatus?> Cancel();
}

/// <summary>
/// The index of jobs submitted in one UTC hour (key yyyyMMddHH): what replay, health and dashboards query. Hourly, so
/// that each write (a job changing state rewrites its partition) stays small on a busy day.
/// </summary>
[Alias("hopt.IJobRegistryGrain")]
public interface IJobRegistryGrain : IGrainWithStringKey
{
    /// <summary>Adds or updates a job's entry.</summary>
    [Alias("Upsert")]
    Task Upsert(JobStatus status);

    /// <summary>The day's jobs, optionally in one state.</summary>
    [Alias("List")]
    Task<IReadOnlyList<JobStatus>> List(JobState? state);

    /// <summary>The key of the registry partition for a moment.</summary>
    static string KeyFor(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMddHH", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The jobs submitted on one UTC day, optionally in one state, in submission order (its 24 partitions).</summary>
    static async Task<IReadOnlyList<JobStatus>> ListDay(IGrainFactory grains, DateOnly day, JobState? state)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var midnight = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var hours = await Task.WhenAll(Enumerable.Range(0, 24).Select(h => grains.GetGrain<IJobRegistryGrain>(KeyFor(midnight.AddHours(h))).List(state)));
        return hours.SelectMany(h => h).OrderBy(s => s.SubmittedAt).ToList();
    }
}

/// <summary>
/// An input CSV a client uploaded, kept in the cluster's state store (so every silo can read it, whatever its disk);
/// the key is the lower-case hex SHA-256 of the bytes, which <see cref="Store"/> checks.
/// </summary>
[Alias("hopt.IUploadGrain")]
public interface IUploadGrain : IGrainWithStringKey
{
    /// <summary>The largest upload taken; larger inputs belong on the shared data root.</summary>
    const int MaxBytes = 64 * 1024 * 1024;

    /// <summary>The prefix of a <see cref="JobSpec.InputPath"/> naming an upload: <c>upload:&lt;sha256&gt;</c>.</summary>
    const string Scheme = "upload:";

    /// <summary>The key of an upload of <paramref name="content"/>: the lower-case hex SHA-256 of the bytes.</summary>
    static string KeyOf(byte[] content) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));

    /// <summary>Keeps <paramref name="content"/>, whose SHA-256 must be the grain's key; idempotent.</summary>
    [Alias("Store")]
    Task Store(byte[] content);

    /// <summary>The bytes, or null when nothing was uploaded under this key.</summary>
    [Alias("Read")]
    Task<byte[]?> Read();
}
