using System.Runtime.InteropServices;

namespace HeavyOptimizer.Admin;

/// <summary>
/// Ctrl+C and SIGTERM as a cancellation of what the command is doing, so that it stops at once and exits 130; work that
/// cannot be cancelled (a read blocked on a pipe) does not keep the process alive: it exits 130 two seconds later.
/// </summary>
internal sealed class ConsoleSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public ConsoleSignals(CancellationToken outer)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    }

    /// <summary>Cancelled by either signal (or by the outer token).</summary>
    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }

    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.Cancel();
        _ = Task.Delay(Grace).ContinueWith(_ =>
        {
            Console.Error.WriteLine("hopt: cancelled");
            Environment.Exit(ExitCodes.Cancelled);
        }, TaskScheduler.Default);
    }
}
