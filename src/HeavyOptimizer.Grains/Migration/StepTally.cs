using System.Collections.Immutable;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Migration;

/// <summary>
/// What a rollout step's analysis needs of every outcome routed at that step (config version <see cref="Version"/> or
/// later, at <see cref="Traffic"/> %), however many arrive: the window holds only the latest
/// <see cref="MigrationPolicyOptions.WindowSize"/> outcomes, about 10 Parquet jobs at 5 %, so a step counting it could
/// wait for ever. Immutable, so a copy of the controller's state shares it; rebuilt from the outcome table on activation.
/// </summary>
public sealed record StepTally(int Version, int Traffic)
{
    /// <summary>Parquet jobs routed at the step, whatever their outcome.</summary>
    public int ParquetJobs { get; init; }

    /// <summary>Parquet jobs that succeeded or failed for the backend's or our own fault (an input error says nothing of the backend).</summary>
    public int Attempted { get; init; }

    /// <summary>Parquet jobs failed for the backend's fault.</summary>
    public int BackendFailures { get; init; }

    /// <summary>Run times of the Parquet jobs that succeeded.</summary>
    public ImmutableList<double> ParquetSeconds { get; init; } = [];

    /// <summary>Jobs at the step compared by dual-write, and how many of those matched.</summary>
    public int Compared { get; init; }

    /// <inheritdoc cref="Compared"/>
    public int Matched { get; init; }

    /// <summary>Whether <paramref name="outcome"/> was routed at this step.</summary>
    public bool Counts(JobOutcome outcome) =>
        outcome.Route is { } route && route.ConfigVersion >= Version && route.TrafficPercent == Traffic;

    /// <summary>This tally with <paramref name="outcome"/> counted (one routed at the step).</summary>
    public StepTally Add(JobOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var parquet = outcome.Backend == MigrationPolicy.Parquet;
        return this with
        {
            ParquetJobs = ParquetJobs + (parquet ? 1 : 0),
            Attempted = Attempted + (parquet && outcome.TellsOfBackend ? 1 : 0),
            BackendFailures = BackendFailures + (parquet && outcome.BackendFailure ? 1 : 0),
            ParquetSeconds = parquet && outcome.Succeeded ? ParquetSeconds.Add(outcome.Seconds) : ParquetSeconds,
            Compared = Compared + (outcome.ConsistencyPassed is null ? 0 : 1),
            Matched = Matched + (outcome.ConsistencyPassed == true ? 1 : 0),
        };
    }
}
