using Orleans.Concurrency;

namespace HeavyOptimizer.Abstractions;

/// <summary>
/// What a job asks for: everything a standalone <c>hopt optimize</c> run can ask for. Optional fields left null take the
/// defaults of SPEC sections 3-6. Two requests are the same job when they are equal field by field.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobSpec")]
public sealed record JobSpec
{
    /// <summary>
    /// The strategy CSV: an absolute path under one of the cluster's input roots (every silo reads it there), or
    /// <c>upload:&lt;sha256&gt;</c> naming an upload (<see cref="IUploadGrain"/>).
    /// </summary>
    [Id(0)] public required string InputPath { get; init; }

    /// <summary>Portfolio size (the smallest of a range when <see cref="MaxPortfolioSize"/> is set); 10..100.</summary>
    [Id(1)] public int PortfolioSize { get; init; } = 35;

    /// <summary>Seed; primary and secondary use the same one.</summary>
    [Id(2)] public ulong Seed { get; init; } = 42;

    /// <summary>Comma-separated algorithm codes; null for all eight.</summary>
    [Id(3)] public string? Algorithms { get; init; }

    /// <summary>Evaluation budget per algorithm and size; null for the budgets the parameters imply.</summary>
    [Id(4)] public long? MaxEvaluations { get; init; }

    /// <summary>Search time in seconds instead of budgets; null for budgets (deterministic).</summary>
    [Id(5)] public double? TimeLimitSeconds { get; init; }

    /// <summary>Run on this backend only (heavydb or parquet), whatever the migration settings say; for replays.</summary>
    [Id(7)] public string? BackendOverride { get; init; }

    /// <summary>The job this one replays, if any.</summary>
    [Id(8)] public string? ReplayOf { get; init; }

    /// <summary>Base metric (SPEC section 4); null for <c>ratio</c>.</summary>
    [Id(9)] public string? Metric { get; init; }

    /// <summary>Weight of the mean pairwise correlation; null for 10.</summary>
    [Id(10)] public double? PenaltyWeight { get; init; }

    /// <summary>Halve the penalty below this max drawdown; null for 0 (never).</summary>
    [Id(11)] public double? DrawdownThreshold { get; init; }

    /// <summary>Largest size of a size range (legacy min_size..max_size); null for the single size <see cref="PortfolioSize"/>.</summary>
    [Id(12)] public int? MaxPortfolioSize { get; init; }

    /// <summary>Invert losing strategies first (SPEC section 5).</summary>
    [Id(13)] public bool Ulta { get; init; }

    /// <summary>Apply ULTA's extra gates.</summary>
    [Id(14)] public bool UltaGates { get; init; }

    /// <summary>Parameter overrides <c>alg.name=value</c>, separated by ';' (e.g. <c>ga.population=60;sa.cooling=0.9</c>).</summary>
    [Id(15)] public string? Parameters { get; init; }

    /// <summary>The budget preset: null or "default" (fixed evaluations and a local-search polish), or "legacy" (SPEC section 6's settings).</summary>
    [Id(16)] public string? Preset { get; init; }

    /// <summary>A multiple of the default preset's work (0.01..100); null for 1.</summary>
    [Id(17)] public double? Effort { get; init; }

    /// <summary>
    /// Backfill validation of this completed job (<c>hopt validate</c>): the job is run again on both backends, the
    /// candidate being <see cref="BackendOverride"/> (default parquet), and compared as dual-write compares; recorded as a
    /// backfill comparison, never as a live outcome, and never replacing the original's results.
    /// </summary>
    [Id(18)] public string? ShadowOf { get; init; }
}

/// <summary>Whose fault a failure is; only <see cref="Backend"/> failures count against a backend and may move the migration.</summary>
[GenerateSerializer]
[Alias("hopt.FailureCause")]
public enum FailureCause
{
    /// <summary>The request or its input: an unreadable or invalid CSV, a missing file, an impossible request.</summary>
    Input = 0,

    /// <summary>A data backend failed or timed out.</summary>
    Backend = 1,

    /// <summary>Stopped on request.</summary>
    Cancelled = 2,

    /// <summary>Anything else: a fault of the cluster itself.</summary>
    Internal = 3,
}

/// <summary>
/// A request the cluster refuses before accepting it: the message names what is wrong and where. <see cref="Field"/>
/// names the part of the request at fault (job_id, input, portfolio_size, ...).
/// </summary>
[GenerateSerializer]
[Alias("hopt.InvalidJobException")]
public sealed class InvalidJobException : Exception
{
    /// <summary>Creates the refusal.</summary>
    public InvalidJobException(string field, string message, bool outsideInputRoots = false)
        : base(message) => (Field, OutsideInputRoots) = (field, outsideInputRoots);

    /// <summary>For serializers.</summary>
    public InvalidJobException()
    {
    }

    /// <summary>Creates the refusal with its cause.</summary>
    public InvalidJobException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the refusal.</summary>
    public InvalidJobException(string message)
        : base(message)
    {
    }

    /// <summary>The part of the request at fault.</summary>
    [Id(0)] public string Field { get; init; } = string.Empty;

    /// <summary>True when the input is a path outside the cluster's input roots (a client may upload it instead).</summary>
    [Id(1)] public bool OutsideInputRoots { get; init; }
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

/// <summary>How one comparison of a dual-write job came out.</summary>
[GenerateSerializer]
[Alias("hopt.Verdict")]
public enum Verdict
{
    /// <summary>Compared, and the two agree within the bound.</summary>
    Passed = 0,

    /// <summary>Compared, and they differ.</summary>
    Failed = 1,

    /// <summary>Not compared (the detail says why): the report claims nothing about it.</summary>
    NotCompared = 2,
}

/// <summary>
/// One comparison of a consistency report: <c>data_path</c> (fingerprints, the matrix each backend returned and, when
/// strict, the bytes of strategy_metrics.csv), <c>metrics</c> (each backend's own per-strategy metrics against the
/// engine's), <c>search</c> (every algorithm's fitness), <c>portfolio</c> (the chosen strategies).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.Comparison")]
public sealed record Comparison([property: Id(0)] string Name, [property: Id(1)] Verdict Verdict, [property: Id(2)] string Detail);

/// <summary>
/// Primary against secondary, for one dual-write job, as a list of <see cref="Comparisons"/>, each with its verdict.
/// The data path and the metrics are always compared; the search and the portfolio only when the search is
/// reproducible (bounded by evaluation budgets, not by a time limit). <see cref="Passed"/> is true when every
/// comparison made passed, false when one failed, null when nothing could be compared (the secondary failed).
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
    [property: Id(10)] bool SearchCompared,
    [property: Id(11)] IReadOnlyList<Comparison> Comparisons,
    [property: Id(12)] bool Strict)
{
    /// <summary>"passed", "FAILED" or "not compared", followed by each comparison's verdict, for one line of output.</summary>
    public string Summary =>
        (Passed switch { true => "passed", false => "FAILED", null => "not compared" })
        + (Comparisons.Count == 0 ? string.Empty : " (" + string.Join(", ", Comparisons.Select(c => $"{c.Name}: {VerdictName(c.Verdict)}")) + ")");

    /// <summary>passed, failed or not compared.</summary>
    public static string VerdictName(Verdict verdict) => verdict switch
    {
        Verdict.Passed => "passed",
        Verdict.Failed => "failed",
        _ => "not compared",
    };
}

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

    /// <summary>Whose fault the failure is, when Failed or Cancelled.</summary>
    [Id(13)] public FailureCause? Cause { get; init; }

    /// <summary>The jobs submitted as replays of this one, oldest first.</summary>
    [Id(14)] public IReadOnlyList<string> Replays { get; init; } = [];

    /// <summary>While Running on a live silo: when the run last made progress (a phase started, the search moved on).</summary>
    [Id(15)] public DateTimeOffset? LastProgressAt { get; init; }

    /// <summary>Who submitted it (the verified identity, when the cluster has identities): a submitter may cancel only its own jobs.</summary>
    [Id(16)] public string? Owner { get; init; }

    /// <summary>Asked to stop while running: its job slot stops it at its next renewal.</summary>
    [Id(17)] public bool CancelRequested { get; init; }

    /// <summary>While Queued: its place among the jobs waiting (1 = next); answered by the job, never persisted.</summary>
    [Id(18)] public int? QueuePosition { get; init; }

    /// <summary>True once Completed, Failed or Cancelled.</summary>
    public bool IsFinished => State is JobState.Completed or JobState.Failed or JobState.Cancelled;
}

/// <summary>One job, key = job id.</summary>
[Alias("hopt.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>
    /// Accepts the job after checking the whole request; idempotent: a second submit of the same request returns the
    /// job as it stands. Throws <see cref="InvalidJobException"/> naming what is wrong, and when the id is taken by a
    /// different request.
    /// </summary>
    [Alias("Submit")]
    Task<JobStatus> Submit(JobSpec spec);

    /// <summary>Checks the request exactly as <see cref="Submit"/> does, accepting nothing (a dry run).</summary>
    [Alias("Check")]
    Task Check(JobSpec spec);

    /// <summary>Records that the job <paramref name="replayId"/> replays this one (idempotent).</summary>
    [Alias("NoteReplay")]
    Task NoteReplay(string replayId);

    /// <summary>The job as it stands; answered while the job runs.</summary>
    [Alias("GetStatus")]
    [AlwaysInterleave]
    Task<JobStatus?> GetStatus();

    /// <summary>Asks a queued or running job to stop: a queued one leaves the queue at once, a running one stops at its slot's next renewal.</summary>
    [Alias("Cancel")]
    Task<JobStatus?> Cancel();

    /// <summary>
    /// A silo's job slot took the job from the queue: the job starts a new attempt (asking the controller for its route
    /// the first time) and answers what to run; null when there is nothing to run (finished, or cancelled meanwhile).
    /// </summary>
    [Alias("Begin")]
    Task<JobTicket?> Begin(string silo);

    /// <summary>Where attempt <paramref name="attempt"/>'s search stands; false when it should stop (cancelled, or superseded by another attempt).</summary>
    [Alias("Report")]
    [AlwaysInterleave]
    Task<bool> Report(int attempt, JobProgress? progress);

    /// <summary>Records how attempt <paramref name="attempt"/> ended, once; false when the job had finished or moved on to another attempt.</summary>
    [Alias("Finish")]
    Task<bool> Finish(int attempt, JobEnd end);
}

/// <summary>
/// The index of jobs (one row per job in the cluster store, written as the job changes state): what listing, replay,
/// health and dashboards query. A stateless worker: any silo answers from the store.
/// </summary>
[Alias("hopt.IJobIndexGrain")]
public interface IJobIndexGrain : IGrainWithIntegerKey
{
    /// <summary>Jobs submitted in [<paramref name="from"/>, <paramref name="to"/>), optionally in one state, oldest first, at most <paramref name="limit"/>.</summary>
    [Alias("List")]
    Task<IReadOnlyList<JobStatus>> List(DateTimeOffset from, DateTimeOffset to, JobState? state, int limit);

    /// <summary>The cluster's members as membership sees them, and a round trip to each data backend from the silo that answers.</summary>
    [Alias("Probe")]
    Task<ClusterProbe> Probe();

    /// <summary>Every dataset the answering silo's backends store, read back through each backend's own checks (Parquet: the SHA-256 of each file).</summary>
    [Alias("VerifyDatasets")]
    Task<IReadOnlyList<DatasetCheck>> VerifyDatasets();

    /// <summary>The jobs submitted on one UTC day, optionally in one state, in submission order.</summary>
    static Task<IReadOnlyList<JobStatus>> ListDay(IGrainFactory grains, DateOnly day, JobState? state)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var midnight = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        return grains.GetGrain<IJobIndexGrain>(0).List(midnight, midnight.AddDays(1), state, int.MaxValue);
    }
}

/// <summary>A silo as membership sees it: its name and address, its status, whether it claims a GPU.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.SiloHealth")]
public sealed record SiloHealth([property: Id(0)] string Silo, [property: Id(1)] string Status, [property: Id(2)] bool Gpu);

/// <summary>One round trip to a data backend: whether it answered, how fast, and what it said.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.BackendProbe")]
public sealed record BackendProbe([property: Id(0)] string Backend, [property: Id(1)] bool Healthy, [property: Id(2)] double Milliseconds, [property: Id(3)] string Detail);

/// <summary>One stored dataset read back: whether it passed its backend's checks, and what failed.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.DatasetCheck")]
public sealed record DatasetCheck([property: Id(0)] string Backend, [property: Id(1)] string Fingerprint, [property: Id(2)] string Source, [property: Id(3)] bool Ok, [property: Id(4)] string Detail);

/// <summary>What <see cref="IJobIndexGrain.Probe"/> found, and the silo that found it.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.ClusterProbe")]
public sealed record ClusterProbe([property: Id(0)] IReadOnlyList<SiloHealth> Silos, [property: Id(1)] IReadOnlyList<BackendProbe> Backends, [property: Id(2)] string AnsweredBy);

/// <summary>Where a queued job stands: its place among the jobs waiting (1 = next), or the silo whose job slots run it.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.QueuePlace")]
public sealed record QueuePlace([property: Id(0)] int? Position, [property: Id(1)] string? Silo);

/// <summary>The cluster's job queue: jobs waiting, since when the oldest waits, and how many jobs each silo runs.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.QueueSummary")]
public sealed record QueueSummary(
    [property: Id(0)] int Waiting, [property: Id(1)] DateTimeOffset? OldestWaiting, [property: Id(2)] IReadOnlyDictionary<string, int> Running);

/// <summary>What a silo's job slot is given to run: the attempt (which its reports must name), the request, the route.</summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobTicket")]
public sealed record JobTicket([property: Id(0)] int Attempt, [property: Id(1)] JobSpec Spec, [property: Id(2)] Route Route, [property: Id(3)] DateTimeOffset SubmittedAt);

/// <summary>
/// How an attempt ended, as its job slot reports it: Completed with the result (and the comparison when mirrored),
/// Failed with the error and its cause, or Cancelled; the backend's own seconds for the controller's runtime trigger.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("hopt.JobEnd")]
public sealed record JobEnd(
    [property: Id(0)] JobState State,
    [property: Id(1)] JobResult? Result = null,
    [property: Id(2)] ConsistencyReport? Consistency = null,
    [property: Id(3)] string? Error = null,
    [property: Id(4)] FailureCause? Cause = null,
    [property: Id(5)] double? BackendSeconds = null);

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

    /// <summary>Whether something was uploaded under this key.</summary>
    [Alias("Exists")]
    Task<bool> Exists();
}
