using System.Runtime.InteropServices;

namespace HeavyOptimizer.Admin;

/// <summary>
/// Ctrl+C and SIGTERM as a cancellation of what the command is doing, so that it stops at once and exits 130; work that
/// cannot be cancelled (a read blocked on a pipe, a call to a silo that does not answer, a client that is slow to stop)
/// does not keep the process alive: it ends with 130 two seconds later, at once (no exit handlers run then: one waiting
/// on that very work would hang it), unless the command finished meanwhile.
/// Nested (a command run by <c>hopt shell</c>): Ctrl+C stops the innermost command only, and where that command has
/// not stopped two seconds later the shell gives up waiting for it (<see cref="GiveUp"/>) and goes on; SIGTERM stops
/// them all, the shell too.
/// </summary>
internal sealed partial class ConsoleSignals : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);
    private static readonly List<ConsoleSignals> Live = [];

    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private volatile bool _finished;

    public ConsoleSignals(CancellationToken outer)
    {
        lock (Live)
        {
            Live.Add(this);
        }

        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    }

    /// <summary>Cancelled by either signal (or by the outer token).</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>
    /// Set by <c>hopt shell</c> while it runs a command: called, instead of ending the process, when that command has
    /// not stopped two seconds after Ctrl+C.
    /// </summary>
    public static Action? GiveUp { get; set; }

    public void Dispose()
    {
        _finished = true;
        lock (Live)
        {
            Live.Remove(this);
        }

        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        ConsoleSignals? enclosing;
        lock (Live)
        {
            var at = Live.IndexOf(this);
            // Ctrl+C is the innermost command's; SIGTERM every command's, the shell's too.
            if (_finished || at < 0 || (context.Signal == PosixSignal.SIGINT && at != Live.Count - 1))
            {
                return;
            }

            enclosing = at > 0 ? Live[at - 1] : null;
        }

        var giveUp = context.Signal == PosixSignal.SIGINT && enclosing is not null ? GiveUp : null;
        // The deadline first, on a thread of its own: cancelling runs the token's callbacks on this thread, and one
        // that blocks (or a starved thread pool) must not keep the process alive.
        new Thread(() =>
        {
            Thread.Sleep(Grace);
            if (_finished)
            {
                return;
            }

            if (giveUp is not null)
            {
                giveUp();
                return;
            }

            Console.Error.WriteLine("hopt: cancelled");
            Console.Error.Flush();
            Console.Out.Flush();
            if (OperatingSystem.IsWindows())
            {
                Environment.Exit(ExitCodes.Cancelled);
            }

            ExitNow(ExitCodes.Cancelled);
        }) { IsBackground = true, Name = "hopt signal grace" }.Start();
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The command finished as the signal came.
        }
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitNow(int status);
}
