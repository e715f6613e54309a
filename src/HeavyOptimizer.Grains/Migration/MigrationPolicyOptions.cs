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
}
