using System.Collections.Concurrent;
using System.Diagnostics;
using HeavyOptimizer.Core.Algorithms;

namespace HeavyOptimizer.Admin;

/// <summary>
/// Shows search progress on stderr: one line redrawn in place on a terminal, plain lines (at most one a second,
/// plus one per finished algorithm) when redirected, so logs stay readable.
/// </summary>
internal sealed class ProgressDisplay(TextWriter writer) : IDisposable
{
    private readonly bool _interactive = !Terminal.ErrorRedirected && ReferenceEquals(writer, Console.Error);
    private readonly ConcurrentDictionary<(string, int), SearchProgress> _latest = new();
    private readonly Lock _gate = new();
    private long _lastPlain;
    private bool _drawn;

    public void Report(SearchProgress progress)
    {
        _latest[(progress.Algorithm, progress.Size)] = progress;
        lock (_gate)
        {
            if (_interactive)
            {
                var done = _latest.Values.Count(p => p.Fraction >= 1);
                var best = _latest.Values.Max(p => p.BestFitness);
                var evaluations = _latest.Values.Sum(p => p.Evaluations);
                writer.Write($"\r{progress.Algorithm,-4} size {progress.Size,3} {progress.Fraction,5:P0} | finished {done,3} | evaluations {evaluations,12:N0} | best {best,10:F4}   ");
                _drawn = true;
            }
            else if (progress.Fraction >= 1 || Stopwatch.GetElapsedTime(_lastPlain).TotalSeconds >= 1)
            {
                _lastPlain = Stopwatch.GetTimestamp();
                var state = progress.Fraction >= 1 ? "done" : $"{progress.Fraction:P0}";
                writer.WriteLine($"progress: {progress.Algorithm} size {progress.Size} {state} evaluations {progress.Evaluations} best {progress.BestFitness:F4}");
            }
        }
    }

    public void Finish()
    {
        lock (_gate)
        {
            if (_drawn)
            {
                writer.WriteLine();
                _drawn = false;
            }
        }
    }

    public void Dispose() => Finish();
}
