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

    /// <summary>
    /// One handler per signal for the whole process, which picks its targets once per signal: with a registration per
    /// command, the shell's handler ran after the command's and, the command having stopped meanwhile, took the same
    /// Ctrl+C for itself.
    /// </summary>
    private static PosixSignalRegistration[]? _registrations;

    private readonly CancellationTokenSource _stop;
    private volatile bool _finished;

    public ConsoleSignals(CancellationToken outer)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        lock (Live)
        {
            Live.Add(this);
            _registrations ??= [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
        }
    }

    /// <summary>Cancelled by either signal (or by the outer token).</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>
    /// Set by <c>hopt shell</c> while it runs a command: called, instead of ending the process, when that command has
    /// not stopped two seconds after Ctrl+C.
    /// </summary>
    public static Action? GiveUp { get; set; }

    /// <summary>
    /// Set by <c>hopt agent</c>: Ctrl+C in its terminal ends the agent (and the command it runs for a caller), as
    /// SIGTERM does; a caller's own Ctrl+C reaches its command over the socket.
    /// </summary>
    public static bool InterruptEndsAll { get; set; }

    public void Dispose()
    {
        _finished = true;
        lock (Live)
        {
            Live.Remove(this);
        }

        _stop.Dispose();
    }

    private static void OnSignal(PosixSignalContext context)
    {
        ConsoleSignals[] targets;
        bool nested;
        lock (Live)
        {
            if (Live.Count == 0)
            {
                return; // nothing of ours is running: the signal's default action ends the process
            }

            // Ctrl+C is the innermost command's (unless it ends everything, as in the agent); SIGTERM every command's, the shell's too.
            var innermost = context.Signal == PosixSignal.SIGINT && !InterruptEndsAll;
            targets = innermost ? [Live[^1]] : [.. Live];
            nested = innermost && Live.Count > 1;
        }

        context.Cancel = true;
        foreach (var target in targets)
        {
            target.Stop(nested ? GiveUp : null);
        }
    }

    private void Stop(Action? giveUp)
    {
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
