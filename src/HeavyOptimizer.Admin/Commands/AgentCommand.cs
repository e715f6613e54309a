using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// <c>hopt agent</c>: keeps one connection to the cluster open for this user's cluster commands, as <c>hopt shell</c>
/// does for the lines it reads, so that <c>hopt status</c>, <c>hopt job ID</c> ... run as commands of their own answer
/// without starting a client (the most of a command's second). The agent listens on a Unix socket in a directory only
/// its user can enter; a cluster command that names no connection of its own (no <c>--cluster</c>, <c>--identity</c>
/// ...), whose environment resolves to the agent's cluster and identity, hands its words and working directory to the
/// agent and prints what comes back, exit code included. Without an agent, or while it runs another command, the
/// command connects itself, as always. One command at a time; Ctrl+C stops the command in the agent, a second Ctrl+C
/// leaves it.
/// </summary>
internal static partial class AgentCommand
{
    private const string Magic = "hopt-agent/1";
    private const byte Out = (byte)'o', Error = (byte)'e', Exit = (byte)'x', Busy = (byte)'b', Accepted = (byte)'a', Cancel = (byte)'c';
    private const int LargestRequest = 1 << 20;
    private static readonly Encoding Utf8 = new UTF8Encoding(false);

    public static Command Create() => ClusterCommands.ClusterCommand("agent",
        "Keep a connection to the cluster open for your cluster commands, so each answers at once (until Ctrl+C or SIGTERM)",
        [], async (parse, client, json, stop) =>
        {
            ConsoleSignals.InterruptEndsAll = true;
            var path = SocketPath(ClusterCommands.ResolvedConnection(parse));
            using var listener = Listen(path);
            Console.Error.WriteLine($"hopt agent: cluster commands of {Environment.UserName} with this connection answer here ({path}); Ctrl+C ends it");
            var root = Cli.Build();
            // The agent's own lines: Console.Error is the caller's while a command runs.
            var log = Console.Error;
            // One command at a time (Console is the process's); not disposed, so a command still finishing can release it.
            var one = new SemaphoreSlim(1);
            try
            {
                while (true)
                {
                    var socket = await listener.AcceptAsync(stop);
                    _ = Task.Run(async () =>
                    {
                        using (socket)
                        {
                            await ServeAsync(socket, root, log, one, stop);
                        }
                    }, CancellationToken.None);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return ExitCodes.Cancelled;
            }
            finally
            {
                File.Delete(path);
            }
        }, shares: true);

    /// <summary>
    /// Runs the command line <paramref name="args"/> in the agent serving <paramref name="parse"/>'s connection and
    /// returns its exit code; null when it is not the agent's to run (it names a connection, no agent serves this one,
    /// or the agent is busy), so the command runs here.
    /// </summary>
    public static async Task<int?> ForwardAsync(string[] args, ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (OperatingSystem.IsWindows() || command.Name is "shell" or "agent" || !ClusterCommands.ReachesCluster(command) || parse.Action is System.CommandLine.Help.HelpAction
            || parse.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>().Any(o => !o.Implicit && o.Option.Name is "--cluster" or "--cluster-file" or "--identity" or "--ca"))
        {
            return null;
        }

        var path = SocketPath(ClusterCommands.ResolvedConnection(null));
        string directory;
        try
        {
            directory = Environment.CurrentDirectory;
        }
        catch (IOException)
        {
            return null; // a working directory that is gone: the command says so itself, should it need one
        }

        if (!File.Exists(path))
        {
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
            if (!OwnUser(socket))
            {
                throw new SocketException();
            }
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null; // an agent that is gone (or a socket that is not this user's agent)
        }

        using (socket)
        await using (var stream = new NetworkStream(socket, ownsSocket: false))
        {
            using (var body = new MemoryStream())
            {
                using (var request = new BinaryWriter(body, Utf8, leaveOpen: true))
                {
                    request.Write(Magic);
                    request.Write(directory);
                    request.Write(Console.IsOutputRedirected);
                    request.Write(Console.IsErrorRedirected);
                    request.Write(args.Length);
                    foreach (var arg in args)
                    {
                        request.Write(arg);
                    }
                }

                stream.Write(BitConverter.GetBytes((int)body.Length));
                stream.Write(body.GetBuffer().AsSpan(0, (int)body.Length));
            }

            // Ctrl+C or SIGTERM asks the agent to stop the command; a second one leaves it to the agent.
            var asked = 0;
            void OnSignal(PosixSignalContext context)
            {
                context.Cancel = true;
                if (Interlocked.Increment(ref asked) > 1)
                {
                    Environment.Exit(ExitCodes.Cancelled);
                }

                try
                {
                    stream.WriteByte(Cancel);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                }
            }

            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            using var answer = new BinaryReader(stream, Utf8, leaveOpen: true);
            using var stdout = Console.OpenStandardOutput();
            using var stderr = Console.OpenStandardError();
            var started = false;
            try
            {
                while (true)
                {
                    var kind = answer.ReadByte();
                    var bytes = answer.ReadBytes(answer.ReadInt32());
                    switch (kind)
                    {
                        case Busy:
                            return null;
                        case Accepted:
                            started = true;
                            break;
                        case Exit:
                            return BitConverter.ToInt32(bytes);
                        default:
                            (kind == Out ? stdout : stderr).Write(bytes);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is EndOfStreamException or IOException && !started)
            {
                return null; // the agent closed before taking the command (it was stopping): it never ran
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                Console.Error.WriteLine($"hopt: the agent at {path} stopped while running the command; whether it took effect, ask the cluster");
                return ExitCodes.Failure;
            }
        }
    }

    /// <summary>
    /// Where the agent for a connection listens: a socket named after the connection's hash, in a directory only this
    /// user may enter (under the user's local data, never a shared temporary directory).
    /// </summary>
    private static string SocketPath(string connection)
    {
        var directory = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "heavy-optimizer", "agents");
        var key = Convert.ToHexStringLower(SHA256.HashData(Utf8.GetBytes(connection)))[..16];
        return Path.Combine(directory, $"{key}.sock");
    }

    private static Socket Listen(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new ArgumentException("hopt agent runs on Linux and macOS: its socket is private by Unix file modes");
        }

        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if ((File.GetUnixFileMode(directory) & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)) != 0)
        {
            throw new ArgumentException($"{directory}: others may enter it; make it private (chmod 700) and start the agent again");
        }

        if (File.Exists(path))
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new ArgumentException($"an agent for this connection already runs ({path})");
            }
            catch (SocketException)
            {
                File.Delete(path); // left by an agent that was killed
            }
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        return listener;
    }

    /// <summary>One caller: its command line read, run with its working directory and output, and its exit code sent.</summary>
    private static async Task ServeAsync(Socket socket, RootCommand root, TextWriter log, SemaphoreSlim one, CancellationToken stop)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        string directory;
        bool outputRedirected, errorRedirected;
        List<string> words;
        try
        {
            if (!OwnUser(socket))
            {
                return;
            }

            // Read whole without holding a thread: a caller that connects and says nothing costs no one a wait.
            using var slow = CancellationTokenSource.CreateLinkedTokenSource(stop);
            slow.CancelAfter(TimeSpan.FromSeconds(5));
            var size = new byte[4];
            await stream.ReadExactlyAsync(size, slow.Token);
            var length = BitConverter.ToInt32(size);
            if (length is <= 0 or > LargestRequest)
            {
                return;
            }

            var body = new byte[length];
            await stream.ReadExactlyAsync(body, slow.Token);
            using var reader = new BinaryReader(new MemoryStream(body), Utf8);
            if (reader.ReadString() != Magic)
            {
                return;
            }

            (directory, outputRedirected, errorRedirected) = (reader.ReadString(), reader.ReadBoolean(), reader.ReadBoolean());
            words = Enumerable.Range(0, reader.ReadInt32()).Select(_ => reader.ReadString()).ToList();
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or OperationCanceledException or ArgumentOutOfRangeException or FormatException)
        {
            return; // not a caller, or one that did not say what to run
        }

        var frames = new Lock();
        void Send(byte kind, ReadOnlySpan<byte> payload)
        {
            lock (frames)
            {
                Span<byte> head = stackalloc byte[5];
                head[0] = kind;
                BitConverter.TryWriteBytes(head[1..], payload.Length);
                stream.Write(head);
                stream.Write(payload);
            }
        }

        var line = string.Join(' ', words);
        if (!one.Wait(0))
        {
            Send(Busy, []);
            log.WriteLine($"hopt agent: busy; '{line}' runs on its own");
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            Send(Accepted, []);
        }
        catch (IOException)
        {
            one.Release();
            return; // the caller is gone: nothing ran
        }

        var (output, error, here) = (Console.Out, Console.Error, Environment.CurrentDirectory);
        using var cancel = new CancellationTokenSource();
        // Any byte from the caller (Ctrl+C there), or the caller gone, stops the command.
        _ = Task.Run(async () =>
        {
            var one = new byte[1];
            try
            {
                await stream.ReadExactlyAsync(one, stop);
            }
            catch (Exception)
            {
            }

            try
            {
                await cancel.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // The command had finished.
            }
        }, CancellationToken.None);
        int code;
        try
        {
            Console.SetOut(new FrameWriter(Out, Send));
            Console.SetError(new FrameWriter(Error, Send));
            Terminal.Caller = (outputRedirected, errorRedirected);
            Environment.CurrentDirectory = directory;
            code = await ShellCommand.RunAsync("agent", root, words, stop, cancel.Token);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"hopt: error: {ExitCodes.OneLine(e.Message)}");
            code = ExitCodes.BadInput;
        }
        finally
        {
            await Console.Out.FlushAsync(CancellationToken.None);
            Console.SetOut(output);
            Console.SetError(error);
            Terminal.Caller = null;
            Environment.CurrentDirectory = here;
            one.Release();
        }

        try
        {
            Send(Exit, BitConverter.GetBytes(code));
        }
        catch (IOException)
        {
            // The caller is gone.
        }

        log.WriteLine($"hopt agent: ran '{line}' in {directory}: exit {code} after {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// Whether the process at the other end of <paramref name="socket"/> runs as this user (Linux: SO_PEERCRED), so
    /// neither side talks to another user's process whatever happened to the directory; elsewhere the private
    /// directory is the guard.
    /// </summary>
    private static bool OwnUser(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        const int solSocket = 1, soPeerCred = 17;
        Span<byte> credentials = stackalloc byte[12]; // pid, uid, gid
        return socket.GetRawSocketOption(solSocket, soPeerCred, credentials) == credentials.Length
            && BitConverter.ToUInt32(credentials[4..8]) == GetUserId();
    }

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUserId();

    /// <summary>Text written to a caller's stdout or stderr, sent as it is written; a caller gone makes writes no-ops.</summary>
    private sealed class FrameWriter(byte kind, Action<byte, ReadOnlySpan<byte>> send) : TextWriter
    {
        private bool _gone;

        public override Encoding Encoding => Utf8;

        public override void Write(char value) => Write(value.ToString());

        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

        public override void Write(string? value)
        {
            if (_gone || string.IsNullOrEmpty(value))
            {
                return;
            }

            try
            {
                send(kind, Utf8.GetBytes(value));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                _gone = true;
            }
        }
    }
}
