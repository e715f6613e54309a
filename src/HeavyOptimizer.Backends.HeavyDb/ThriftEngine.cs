using System.Net.Sockets;
using HeavyOptimizer.Backends.HeavyDb.Thrift;
using Thrift;
using Thrift.Protocol;
using Thrift.Transport;
using Thrift.Transport.Client;

namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// A HeavyDB server over Thrift: the binary protocol on a buffered, unframed socket, or JSON over HTTP. Connecting
/// is bounded by the URL's <c>connect_timeout</c>, each call by its <c>timeout</c>. One session, one call at a time; a
/// call whose session the server no longer knows (sessions expire after 60 idle minutes) reconnects and runs again; a
/// transport failure (a reset, a dropped connection, a reply out of step) reconnects and retries a call that is safe
/// to repeat (reads, <c>get_version</c>, <c>DROP ... IF EXISTS</c>, <c>CREATE ... IF NOT EXISTS</c>) up to three times,
/// and fails any other with <see cref="HeavyDbConnectionLostException"/>. Errors are one line: the server's own text,
/// or the socket's.
/// </summary>
internal sealed class ThriftEngine : ISqlEngine
{
    private const int LoadBatchRows = 250_000;
    private const int Attempts = 3;
    private readonly HeavyDbConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private HeavyClient? _client;
    private string? _session;

    private ThriftEngine(HeavyDbConnection connection) => _connection = connection;

    public SqlDialect Dialect => SqlDialect.HeavyDb;

    public string Description => $"HeavyDB at {_connection}";

    /// <summary>Connects now, so that a wrong address or password fails at open, not at the first statement.</summary>
    public static async Task<ThriftEngine> ConnectAsync(HeavyDbConnection connection, CancellationToken cancellation)
    {
        var engine = new ThriftEngine(connection);
        await engine._gate.WaitAsync(cancellation);
        try
        {
            await engine.EnsureConnectedAsync(cancellation);
        }
        finally
        {
            engine._gate.Release();
        }

        return engine;
    }

    public Task ExecuteAsync(string sql, CancellationToken cancellation) =>
        CallAsync("sql_execute", IsRepeatable(sql), (client, session, ct) => client.SqlExecuteAsync(session, sql, cancellation: ct), cancellation);

    public Task<HeavyQueryResult> QueryAsync(string sql, CancellationToken cancellation) =>
        CallAsync("sql_execute", true, (client, session, ct) => client.SqlExecuteAsync(session, sql, cancellation: ct), cancellation);

    public async Task LoadAsync(string table, IReadOnlyList<string> columnNames, IReadOnlyList<HeavyColumn> columns, CancellationToken cancellation)
    {
        var rows = columns[0].Length;
        for (var start = 0; start < rows; start += LoadBatchRows)
        {
            var count = Math.Min(LoadBatchRows, rows - start);
            var batch = columns.Select(c => Slice(c, start, count)).ToList();
            await CallAsync("load_table_binary_columnar", false, async (client, session, ct) =>
            {
                await client.LoadTableBinaryColumnarAsync(session, table, batch, columnNames, ct);
                return true;
            }, cancellation);
        }
    }

    public Task<string> VersionAsync(CancellationToken cancellation) =>
        CallAsync("get_version", true, (client, _, ct) => client.GetVersionAsync(ct), cancellation);

    public async ValueTask DisposeAsync()
    {
        if (_client is not null && _session is not null)
        {
            try
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.DisconnectAsync(_session, quick.Token);
            }
            catch (Exception e) when (e is HeavyDbServerException or OperationCanceledException || IsTransport(e))
            {
                // The session may already be gone; nothing to release then.
            }
        }

        Drop();
        _gate.Dispose();
    }

    /// <summary>Whether a statement may run again after a transport failure left it unknown whether it ran.</summary>
    internal static bool IsRepeatable(string sql)
    {
        var text = sql.TrimStart();
        return text.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase)
               || text.StartsWith("DROP TABLE IF EXISTS", StringComparison.OrdinalIgnoreCase)
               || text.StartsWith("CREATE TABLE IF NOT EXISTS", StringComparison.OrdinalIgnoreCase);
    }

    private async Task<T> CallAsync<T>(string method, bool repeatable, Func<HeavyClient, string, CancellationToken, Task<T>> call, CancellationToken cancellation)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                await EnsureConnectedAsync(cancellation);
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                limit.CancelAfter(_connection.CallTimeout);
                try
                {
                    return await call(_client!, _session!, limit.Token);
                }
                catch (HeavyDbServerException e) when (e.IsInvalidSession && attempt < Attempts)
                {
                    // The server no longer knows the session, so the call never ran: a new session, and again.
                    Drop();
                }
                catch (Exception e) when (limit.IsCancellationRequested && !cancellation.IsCancellationRequested && (e is OperationCanceledException || IsTransport(e)))
                {
                    // The call's own limit ran out (HTTP reports that as a transport error): the answer is not coming.
                    Drop();
                    throw new BackendException("heavydb", $"HeavyDB at {_connection} did not answer {method} within {_connection.CallTimeout.TotalSeconds:0.#} s (timeout= in the URL)");
                }
                catch (Exception e) when (IsTransport(e))
                {
                    Drop();
                    if (!repeatable || attempt >= Attempts)
                    {
                        throw new HeavyDbConnectionLostException($"lost HeavyDB at {_connection} during {method}{(repeatable ? $" ({Attempts} attempts)" : string.Empty)}: {Describe(e)}", e);
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellation);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Opens a connection and a session unless both are there; connecting is always safe to retry.</summary>
    private async Task EnsureConnectedAsync(CancellationToken cancellation)
    {
        for (var attempt = 1; _client is null; attempt++)
        {
            try
            {
                // The session handshake is part of opening a connection: it is bounded by connect_timeout too.
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                limit.CancelAfter(_connection.ConnectTimeout);
                HeavyClient? client = null;
                try
                {
                    client = await OpenAsync(limit.Token);
                    _session = await client.ConnectAsync(_connection.User, _connection.Password, _connection.Database, limit.Token);
                    _client = client;
                }
                catch (Exception e) when (limit.IsCancellationRequested && !cancellation.IsCancellationRequested && (e is OperationCanceledException || IsTransport(e)))
                {
                    client?.Dispose();
                    throw new TimeoutException($"no connection and session within {_connection.ConnectTimeout.TotalSeconds:0.#} s (connect_timeout= in the URL)");
                }
                catch
                {
                    client?.Dispose();
                    throw;
                }
            }
            catch (HeavyDbServerException e)
            {
                throw new BackendException("heavydb", $"HeavyDB at {_connection} refused the connection: {e.Message}", e);
            }
            catch (Exception e) when ((IsTransport(e) || e is TimeoutException) && !cancellation.IsCancellationRequested && attempt < Attempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellation);
            }
            catch (Exception e) when ((IsTransport(e) || e is TimeoutException) && !cancellation.IsCancellationRequested)
            {
                throw new BackendException("heavydb", $"cannot reach HeavyDB at {_connection}: {Describe(e)}", e);
            }
        }
    }

    private async Task<HeavyClient> OpenAsync(CancellationToken cancellation)
    {
        var configuration = new TConfiguration { MaxMessageSize = int.MaxValue };
        if (_connection.Protocol == "http")
        {
            var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = _connection.ConnectTimeout });
            // THttpTransport's "ConnectTimeout" is the whole request's; each call's own limit applies instead.
            var transport = new THttpTransport(http, configuration, new Uri($"http://{_connection.Host}:{_connection.Port}/")) { ConnectTimeout = -1 };
            return new HeavyClient(new TJsonProtocol(transport));
        }

        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(_connection.Host, _connection.Port, cancellation);

            return new HeavyClient(new TBinaryProtocol(new TBufferedTransport(new TSocketTransport(tcp, configuration), 64 * 1024), true, true));
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private void Drop()
    {
        _client?.Dispose();
        _client = null;
        _session = null;
    }

    private static bool IsTransport(Exception e) =>
        e is TTransportException or TProtocolException or IOException or SocketException or HttpRequestException or HeavyDbProtocolException or ObjectDisposedException;

    /// <summary>One line for a transport failure: the socket's or HTTP's own message, never a stack trace.</summary>
    internal static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException { InnerException: { } cause })
            {
                // HttpClient's own text ("An error occurred while sending the request") says nothing; its cause does.
                return $"{Core.Messages.OneLine(inner.Message)} ({Core.Messages.OneLine(cause.Message)})";
            }

            if (inner is SocketException or HttpRequestException or TimeoutException or HeavyDbProtocolException)
            {
                return Core.Messages.OneLine(inner.Message);
            }
        }

        return e is TTransportException { Type: TTransportException.ExceptionType.EndOfFile } ? "the server closed the connection" : Core.Messages.OneLine(e.Message);
    }

    private static HeavyColumn Slice(HeavyColumn c, int start, int count) => new(
        c.Ints.Length > 0 ? c.Ints[start..(start + count)] : [],
        c.Reals.Length > 0 ? c.Reals[start..(start + count)] : [],
        c.Strings.Length > 0 ? c.Strings[start..(start + count)] : [],
        c.Nulls[start..(start + count)]);
}

/// <summary>The connection to HeavyDB broke during a call that may or may not have run (a load, an insert): the caller decides whether to redo its work.</summary>
public sealed class HeavyDbConnectionLostException(string message, Exception inner) : BackendException("heavydb", message, inner);
