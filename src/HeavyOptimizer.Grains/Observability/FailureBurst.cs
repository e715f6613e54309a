namespace HeavyOptimizer.Grains.Observability;

/// <summary>
/// Detects a burst of backend failures: <see cref="Threshold"/> or more within <see cref="Window"/>, reported at most
/// once per window (so a failing backend pages once a minute, not once a job).
/// </summary>
public sealed class FailureBurst
{
    /// <summary>Failures within <see cref="Window"/> that make a burst.</summary>
    public const int Threshold = 5;

    /// <summary>The window, and the least time between two reports.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Queue<DateTimeOffset> _failures = new();
    private DateTimeOffset _lastReport = DateTimeOffset.MinValue;

    /// <summary>Counts a failure at <paramref name="at"/>; the failures in the window when this one makes a burst to report, else null.</summary>
    public int? Add(DateTimeOffset at)
    {
        _failures.Enqueue(at);
        while (_failures.Count > 0 && at - _failures.Peek() > Window)
        {
            _failures.Dequeue();
        }

        if (_failures.Count < Threshold || at - _lastReport <= Window)
        {
            return null;
        }

        _lastReport = at;
        return _failures.Count;
    }
}
