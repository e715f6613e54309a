using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HeavyOptimizer.Backends.HeavyDb.Thrift;
using Thrift;
using Thrift.Protocol;
using Thrift.Protocol.Entities;
using Thrift.Transport;
using Thrift.Transport.Client;

namespace HeavyOptimizer.Backends.HeavyDb.StandIn;

/// <summary>How the stand-in server listens, whom it admits, and the faults it injects.</summary>
public sealed class HeavyDbStandInOptions
{
    /// <summary>Where its engine keeps the database (<c>heavydb-standin/standin.duckdb</c> below it).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Port of the binary protocol (HeavyDB: 6274); 0 for any free port.</summary>
    public int BinaryPort { get; init; }

    /// <summary>Port of the JSON protocol over HTTP (HeavyDB: 6278); 0 for any free port.</summary>
    public int HttpPort { get; init; }

    /// <summary>The one user admitted; default HeavyDB's <c>admin</c>.</summary>
    public string User { get; init; } = "admin";

    /// <summary>That user's password; default HeavyDB's <c>HyperInteractive</c>.</summary>
    public string Password { get; init; } = "HyperInteractive";

    /// <summary>The one database; default HeavyDB's <c>heavyai</c>.</summary>
    public string Database { get; init; } = "heavyai";
}

/// <summary>
/// A protocol-level stand-in for a HeavyDB server, <b>not HeavyDB</b>: it speaks HeavyDB's Thrift service (the calls
/// this project makes: <c>connect</c>, <c>disconnect</c>, <c>get_version</c>, <c>sql_execute</c>,
/// <c>load_table_binary_columnar</c>) in the binary protocol over TCP and the JSON protocol over HTTP, decoded and
/// encoded by the project's own wire code (<see cref="HeavyWire"/>, proven against shared/heavydb-wire), checks
/// credentials and sessions, runs the SQL (HeavyDB's dialect, translated where DuckDB's differs) on the embedded
/// engine, and answers as HeavyDB does: columnar results with HeavyDB's type descriptors, <c>TDBException</c> with
/// HeavyDB's messages. It can inject faults, so that the client's reconnect, retry and timeout paths are tested over
/// real sockets: sessions expiring after a number of calls, connections dropped before a call is answered, replies out
/// of step, slow queries.
/// </summary>
public sealed partial class HeavyDbStandInServer : IAsyncDisposable
{
    /// <summary>HeavyDB's TQueryType values.</summary>
    private const int Read = 1, Write = 2, SchemaWrite = 4;

    private readonly HeavyDbStandInOptions _options;
    private readonly DuckDbEngine _engine;
    private readonly TcpListener _binary;
    private readonly HttpListener _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, int> _sessions = new(StringComparer.Ordinal);
    private readonly List<Task> _loops = [];
    private readonly ConcurrentDictionary<string, int> _drops = new(StringComparer.Ordinal);
    private int _outOfStep;
    private int _calls;

    private HeavyDbStandInServer(HeavyDbStandInOptions options)
    {
        _options = options;
        _engine = DuckDbEngine.Open(Path.Combine(Path.GetFullPath(options.DataDirectory), "heavydb-standin", "standin.duckdb"));
        _binary = new TcpListener(IPAddress.Loopback, options.BinaryPort);
        _http = new HttpListener();
    }

    /// <summary>The port of the binary protocol.</summary>
    public int BinaryPort => ((IPEndPoint)_binary.LocalEndpoint).Port;

    /// <summary>The port of the JSON protocol over HTTP.</summary>
    public int HttpPort { get; private set; }

    /// <summary>Calls answered so far.</summary>
    public int Calls => _calls;

    /// <summary>Fault: a session is forgotten after this many calls (HeavyDB expires idle sessions); null never.</summary>
    public int? ExpireSessionsAfterCalls { get; set; }

    /// <summary>Fault: every query waits this long before it runs.</summary>
    public TimeSpan QueryDelay { get; set; }

    /// <summary>Fault: the next <paramref name="times"/> calls of <paramref name="method"/> have their connection dropped before the server answers.</summary>
    public void Drop(string method, int times) => _drops[method] = times;

    /// <summary>Fault: the next <paramref name="times"/> replies carry a sequence id one past their call's.</summary>
    public void AnswerOutOfStep(int times) => Volatile.Write(ref _outOfStep, times);

    /// <summary>Admits <paramref name="session"/> as if a connect had returned it (to replay captured calls that name one).</summary>
    internal void AdmitSession(string session) => _sessions[session] = 0;

    /// <summary>The heavydb:// URL of this server for <paramref name="protocol"/> (binary or http).</summary>
    public string Url(string protocol = "binary", string? password = null) =>
        $"heavydb://{_options.User}:{Uri.EscapeDataString(password ?? _options.Password)}@127.0.0.1:{(protocol == "http" ? HttpPort : BinaryPort)}/{_options.Database}?protocol={protocol}";

    /// <summary>Opens the engine and starts both listeners.</summary>
    public static Task<HeavyDbStandInServer> StartAsync(HeavyDbStandInOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = new HeavyDbStandInServer(options);
        server._binary.Start();
        server.HttpPort = options.HttpPort != 0 ? options.HttpPort : FreePort();
        server._http.Prefixes.Add($"http://127.0.0.1:{server.HttpPort}/");
        server._http.Start();
        server._loops.Add(Task.Run(server.AcceptBinaryAsync));
        server._loops.Add(Task.Run(server.AcceptHttpAsync));
        return Task.FromResult(server);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _binary.Stop();
        _http.Close();
        await Task.WhenAll(_loops).ContinueWith(_ => { }, TaskScheduler.Default);
        await _engine.DisposeAsync();
        _stop.Dispose();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task AcceptBinaryAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _binary.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeBinaryAsync(client));
        }
    }

    /// <summary>One client connection: messages one after another until it closes, or a fault drops it.</summary>
    private async Task ServeBinaryAsync(TcpClient client)
    {
        using (client)
        {
            var configuration = new TConfiguration { MaxMessageSize = int.MaxValue };
            using var transport = new TBufferedTransport(new TSocketTransport(client, configuration), 64 * 1024);
            var protocol = new TBinaryProtocol(transport, true, true);
            try
            {
                while (!_stop.IsCancellationRequested && await HandleAsync(protocol, protocol, _stop.Token))
                {
                }
            }
            catch (Exception e) when (e is TTransportException or IOException or SocketException or OperationCanceledException or TProtocolException)
            {
                // The client went away, or the server is stopping.
            }
        }
    }

    private async Task AcceptHttpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _http.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => ServeHttpAsync(context));
        }
    }

    /// <summary>One HTTP POST: its body is one JSON-protocol message, the answer the reply's.</summary>
    private async Task ServeHttpAsync(HttpListenerContext context)
    {
        try
        {
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body, _stop.Token);
            var configuration = new TConfiguration { MaxMessageSize = int.MaxValue };
            using var input = new TMemoryBufferTransport(body.ToArray(), configuration);
            using var output = new TMemoryBufferTransport(configuration);
            if (!await HandleAsync(new TJsonProtocol(input), new TJsonProtocol(output), _stop.Token))
            {
                context.Response.Abort();
                return;
            }

            var reply = output.GetBuffer();
            context.Response.ContentType = "application/x-thrift";
            context.Response.ContentLength64 = reply.Length;
            await context.Response.OutputStream.WriteAsync(reply, _stop.Token);
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or OperationCanceledException or TProtocolException or TTransportException or ObjectDisposedException)
        {
            context.Response.Abort();
        }
    }

    /// <summary>Reads one call and answers it; false when a fault says to drop the connection instead of answering.</summary>
    private async Task<bool> HandleAsync(TProtocol input, TProtocol output, CancellationToken ct)
    {
        var message = await input.ReadMessageBeginAsync(ct);
        var call = message.Name switch
        {
            "connect" => await ConnectAsync(input, ct),
            "disconnect" => await DisconnectAsync(input, ct),
            "get_version" => await VersionAsync(input, ct),
            "sql_execute" => await SqlExecuteAsync(input, ct),
            "load_table_binary_columnar" => await LoadAsync(input, ct),
            _ => await UnknownAsync(input, message.Name, ct),
        };
        await input.ReadMessageEndAsync(ct);
        Interlocked.Increment(ref _calls);
        if (Take(_drops, message.Name))
        {
            return false;
        }

        var sequence = TakeOutOfStep() ? message.SeqID + 1 : message.SeqID;

        if (call.Unknown)
        {
            await output.WriteMessageBeginAsync(new TMessage(message.Name, TMessageType.Exception, message.SeqID), ct);
            await new TApplicationException(TApplicationException.ExceptionType.UnknownMethod, $"Invalid method name: '{message.Name}'").WriteAsync(output, ct);
            await output.WriteMessageEndAsync(ct);
            await output.Transport.FlushAsync(ct);
            return true;
        }

        await HeavyWire.WriteMessageAsync(output, message.Name, TMessageType.Reply, sequence, async (p, c) =>
        {
            if (call.Error is not null)
            {
                await HeavyWire.WriteDbExceptionAsync(p, call.Error, c);
            }
            else if (call.Write is not null)
            {
                await call.Write(p, c);
            }
        }, ct);
        return true;
    }

    private async Task<Outcome> ConnectAsync(TProtocol p, CancellationToken ct)
    {
        var (user, password, database) = (string.Empty, string.Empty, string.Empty);
        await HeavyWire.ReadStructAsync(p, async (field, c) =>
        {
            switch (field.ID)
            {
                case 1 when field.Type == TType.String:
                    user = await p.ReadStringAsync(c);
                    return true;
                case 2 when field.Type == TType.String:
                    password = await p.ReadStringAsync(c);
                    return true;
                case 3 when field.Type == TType.String:
                    database = await p.ReadStringAsync(c);
                    return true;
                default:
                    return false;
            }
        }, ct);
        if (user != _options.User || password != _options.Password)
        {
            return Outcome.Failed(HeavyDbMessages.AuthenticationFailure);
        }

        if (database != _options.Database)
        {
            return Outcome.Failed(HeavyDbMessages.UnknownDatabase(database));
        }

        var session = NewSession();
        _sessions[session] = 0;
        return Outcome.Success((o, c) => WriteSuccessStringAsync(o, session, c));
    }

    private async Task<Outcome> DisconnectAsync(TProtocol p, CancellationToken ct)
    {
        var session = await ReadSessionOnlyAsync(p, ct);
        return _sessions.TryRemove(session, out _) ? Outcome.Success(null) : Outcome.Failed(HeavyDbMessages.InvalidSession);
    }

    private async Task<Outcome> VersionAsync(TProtocol p, CancellationToken ct)
    {
        await HeavyWire.ReadStructAsync(p, (_, _) => Task.FromResult(false), ct);
        var version = $"8.1.0-standin ({await _engine.VersionAsync(ct)})";
        return Outcome.Success((o, c) => WriteSuccessStringAsync(o, version, c));
    }

    private async Task<Outcome> SqlExecuteAsync(TProtocol p, CancellationToken ct)
    {
        var (session, query) = (string.Empty, string.Empty);
        await HeavyWire.ReadStructAsync(p, async (field, c) =>
        {
            switch (field.ID)
            {
                case 1 when field.Type == TType.String:
                    session = await p.ReadStringAsync(c);
                    return true;
                case 2 when field.Type == TType.String:
                    query = await p.ReadStringAsync(c);
                    return true;
                default:
                    return false;
            }
        }, ct);
        if (Admit(session) is { } refused)
        {
            return refused;
        }

        if (QueryDelay > TimeSpan.Zero)
        {
            await Task.Delay(QueryDelay, ct);
        }

        var sql = Translate(query);
        var kind = KindOf(sql);
        try
        {
            var result = kind == Read ? await _engine.QueryAsync(sql, ct) : await ExecuteAsync(sql, ct);
            var described = result with { Descriptors = result.Descriptors.Select(AsHeavyDb).ToList() };
            return Outcome.Success((o, c) => WriteSuccessResultAsync(o, described, kind, c));
        }
        catch (HeavyDbServerException e)
        {
            return Outcome.Failed(HeavyDbMessages.SqlError(e.Message));
        }
    }

    private async Task<HeavyQueryResult> ExecuteAsync(string sql, CancellationToken ct)
    {
        await _engine.ExecuteAsync(sql, ct);
        return new HeavyQueryResult([], [], 0, 0);
    }

    private async Task<Outcome> LoadAsync(TProtocol p, CancellationToken ct)
    {
        var (session, table) = (string.Empty, string.Empty);
        List<HeavyColumn> columns = [];
        List<string> names = [];
        await HeavyWire.ReadStructAsync(p, async (field, c) =>
        {
            switch (field.ID)
            {
                case 1 when field.Type == TType.String:
                    session = await p.ReadStringAsync(c);
                    return true;
                case 2 when field.Type == TType.String:
                    table = await p.ReadStringAsync(c);
                    return true;
                case 3 when field.Type == TType.List:
                    columns = await HeavyWire.ReadColumnsAsync(p, c);
                    return true;
                case 4 when field.Type == TType.List:
                    names = await HeavyWire.ReadStringsAsync(p, c);
                    return true;
                default:
                    return false;
            }
        }, ct);
        if (Admit(session) is { } refused)
        {
            return refused;
        }

        if (columns.Count != names.Count || columns.Select(c => c.Length).Distinct().Count() > 1)
        {
            return Outcome.Failed(HeavyDbMessages.LoadMismatch(columns.Count, names.Count));
        }

        try
        {
            await _engine.LoadAsync(table, names, columns, ct);
            return Outcome.Success(null);
        }
        catch (HeavyDbServerException e)
        {
            return Outcome.Failed(HeavyDbMessages.SqlError(e.Message));
        }
    }

    private async Task<Outcome> UnknownAsync(TProtocol p, string method, CancellationToken ct)
    {
        await HeavyWire.ReadStructAsync(p, (_, _) => Task.FromResult(false), ct);
        return new Outcome(null, $"unknown method {method}", true);
    }

    private static bool Take(ConcurrentDictionary<string, int> faults, string method)
    {
        while (faults.TryGetValue(method, out var left) && left > 0)
        {
            if (faults.TryUpdate(method, left - 1, left))
            {
                return true;
            }
        }

        return false;
    }

    private bool TakeOutOfStep()
    {
        int left;
        do
        {
            left = Volatile.Read(ref _outOfStep);
            if (left <= 0)
            {
                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _outOfStep, left - 1, left) != left);

        return true;
    }

    /// <summary>Null when the session is known (counting the call), else the refusal HeavyDB gives.</summary>
    private Outcome? Admit(string session)
    {
        if (!_sessions.TryGetValue(session, out var calls))
        {
            return Outcome.Failed(HeavyDbMessages.InvalidSession);
        }

        if (ExpireSessionsAfterCalls is { } limit && calls >= limit)
        {
            _sessions.TryRemove(session, out _);
            return Outcome.Failed(HeavyDbMessages.InvalidSession);
        }

        _sessions[session] = calls + 1;
        return null;
    }

    private static async Task<string> ReadSessionOnlyAsync(TProtocol p, CancellationToken ct)
    {
        var session = string.Empty;
        await HeavyWire.ReadStructAsync(p, async (field, c) =>
        {
            if (field.ID == 1 && field.Type == TType.String)
            {
                session = await p.ReadStringAsync(c);
                return true;
            }

            return false;
        }, ct);
        return session;
    }

    private static async Task WriteSuccessStringAsync(TProtocol p, string value, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField("success", TType.String, 0), ct);
        await p.WriteStringAsync(value, ct);
        await p.WriteFieldEndAsync(ct);
    }

    private static async Task WriteSuccessResultAsync(TProtocol p, HeavyQueryResult result, int kind, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField("success", TType.Struct, 0), ct);
        await HeavyWire.WriteQueryResultAsync(p, result, kind, ct);
        await p.WriteFieldEndAsync(ct);
    }

    /// <summary>A 32-character session id of letters and digits, as HeavyDB hands out.</summary>
    private static string NewSession()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return string.Create(32, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
            }
        });
    }

    /// <summary>The column descriptor as HeavyDB writes it: dictionary-encoded text, dates stored in days.</summary>
    private static HeavyColumnType AsHeavyDb(HeavyColumnType d) => d.Type switch
    {
        HeavyDatumType.Str => d with { Encoding = HeavyWire.DictEncoding, Nullable = true },
        HeavyDatumType.Date => d with { Encoding = HeavyWire.DateInDaysEncoding, Nullable = true },
        _ => d with { Encoding = 0, Nullable = true },
    };

    private static int KindOf(string sql)
    {
        var verb = sql.TrimStart().Split(' ', 2)[0].ToUpperInvariant();
        return verb switch
        {
            "SELECT" or "WITH" or "SHOW" => Read,
            "INSERT" or "UPDATE" or "DELETE" => Write,
            _ => SchemaWrite,
        };
    }

    /// <summary>HeavyDB's SQL where DuckDB's differs: dictionary-encoded text, table options, CORR on zero variance (NULL in HeavyDB, NaN in DuckDB).</summary>
    internal static string Translate(string heavySql)
    {
        ArgumentNullException.ThrowIfNull(heavySql);
        var sql = DictText().Replace(heavySql, "VARCHAR");
        sql = TableOptions().Replace(sql, string.Empty);
        return Correlation().Replace(sql, m => $"CASE WHEN isnan({m.Value}) THEN NULL ELSE {m.Value} END");
    }

    [GeneratedRegex(@"TEXT\s+ENCODING\s+DICT\(\d+\)", RegexOptions.IgnoreCase)]
    private static partial Regex DictText();

    [GeneratedRegex(@"\s*WITH\s*\(\s*fragment_size\s*=\s*\d+\s*\)", RegexOptions.IgnoreCase)]
    private static partial Regex TableOptions();

    [GeneratedRegex(@"CORR\([^()]*\)", RegexOptions.IgnoreCase)]
    private static partial Regex Correlation();

    /// <summary>How a call went: a reply to write, a TDBException, or a method the server does not have.</summary>
    private sealed record Outcome(Func<TProtocol, CancellationToken, Task>? Write, string? Error, bool Unknown = false)
    {
        public static Outcome Success(Func<TProtocol, CancellationToken, Task>? write) => new(write, null);

        public static Outcome Failed(string error) => new(null, error);
    }
}
