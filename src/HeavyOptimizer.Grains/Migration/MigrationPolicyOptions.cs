namespace HeavyOptimizer.Grains.Migration;

/// <summary>The controller's guards and automatic-rollback triggers (SPEC section 9 defaults).</summary>
public sealed class MigrationPolicyOptions
{
    /// <summary>Clean dual-write jobs the window must hold before cut-over; default 20.</summary>
    public int CleanDualWriteJobsForCutOver { get; set; } = 20;

    /// <summary>Clean Parquet-primary jobs at traffic 100 % the window must hold before parquet_only; default 20.</summary>
    public int CleanParquetJobsForParquetOnly { get; set; } = 20;

    /// <summary>Outcomes kept in the sliding window; default 200.</summary>
    public int WindowSize { get; set; } = 200;

    /// <summary>Roll back when the 95th percentile of recent Parquet job runtimes exceeds this; default 5 s.</summary>
    public double MaxParquetSeconds { get; set; } = 5;

    /// <summary>Roll back when primary and secondary best fitness differ by more than this (relative); default 1 %.</summary>
    public double MaxResultVariance { get; set; } = 0.01;

    /// <summary>Roll back when a backend's error rate over the window exceeds this; default 5 %.</summary>
    public double MaxErrorRate { get; set; } = 0.05;

    /// <summary>Jobs of a backend in the window before runtime and error-rate triggers apply; default 5 and 20.</summary>
    public int MinJobsForRuntime { get; set; } = 5;

    /// <summary>Jobs of a backend in the window before the error-rate trigger applies; default 20.</summary>
    public int MinJobsForErrorRate { get; set; } = 20;

    /// <summary>Clean jobs under one config version that make it the last-known-good; default 20.</summary>
    public int CleanJobsForLastKnownGood { get; set; } = 20;

    /// <summary>A one-line message for each setting that cannot work, empty when all can.</summary>
    public IEnumerable<string> Problems()
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(CleanDualWriteJobsForCutOver), CleanDualWriteJobsForCutOver), (nameof(CleanParquetJobsForParquetOnly), CleanParquetJobsForParquetOnly),
                     (nameof(MinJobsForRuntime), MinJobsForRuntime), (nameof(MinJobsForErrorRate), MinJobsForErrorRate), (nameof(CleanJobsForLastKnownGood), CleanJobsForLastKnownGood),
                 })
        {
            if (value < 1 || value > WindowSize)
            {
                yield return $"{name} {value}: 1..{nameof(WindowSize)} ({WindowSize}), or the window could never hold enough jobs";
            }
        }

        if (WindowSize is < 1 or > 100_000)
        {
            yield return $"{nameof(WindowSize)} {WindowSize}: 1..100000";
        }

        if (!(MaxParquetSeconds > 0))
        {
            yield return $"{nameof(MaxParquetSeconds)} {MaxParquetSeconds}: more than 0";
        }

        if (!(MaxResultVariance >= 0))
        {
            yield return $"{nameof(MaxResultVariance)} {MaxResultVariance}: 0 or more (a relative difference)";
        }

        if (!(MaxErrorRate is >= 0 and <= 1))
        {
            yield return $"{nameof(MaxErrorRate)} {MaxErrorRate}: 0..1 (a fraction, 0.05 is 5 %)";
        }
    }
}
