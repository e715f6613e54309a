using System.Net.Sockets;
using HeavyOptimizer.Backends.HeavyDb.Thrift;
using Thrift;
using Thrift.Protocol;
using Thrift.Transport;
using Thrift.Transport.Client;

namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// A real HeavyDB server over Thrift: binary protocol on a buffered, unframed socket, or JSON over HTTP. Keeps one
/// session, reconnects once when the server says the session is no longer valid (sessions expire after 60 idle
/// minutes), and disconnects on dispose.
/// </summary>
internal sealed class ThriftEngine : ISqlEngine
{
    private const int LoadBatchRows = 250_000;
    private readonly HeavyDbConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private HeavyClient? _client;
    private string? _session;

    private ThriftEngine(HeavyDbConnection connection) => _connection = connection;

    public SqlDialect Dialect => SqlDialect.HeavyDb;

    public string Description => $"HeavyDB at {_connection}";

    public static async Task<ThriftEngine> ConnectAsync(HeavyDbConnection connection, CancellationToken cancellation)
    {
        var engine = new ThriftEngine(connection);
        await engine.ReconnectAsync(cancellation);
        return engine;
    }

    public Task ExecuteAsync(string sql, CancellationToken cancellation) =>
        WithSessionAsync((client, session) => client.SqlExecuteAsync(session, sql, cancellation: cancellation), cancellation);

    public Task<HeavyQueryResult> QueryAsync(string sql, CancellationToken cancellation) =>
        WithSessionAsync((client, session) => client.SqlExecuteAsync(session, sql, cancellation: cancellation), cancellation);

    public async Task LoadAsync(string table, IReadOnlyList<string> columnNames, IReadOnlyList<HeavyColumn> columns, CancellationToken cancellation)
    {
        var rows = columns[0].Length;
        for (var start = 0; start < rows; start += LoadBatchRows)
        {
            var count = Math.Min(LoadBatchRows, rows - start);
            var batch = columns.Select(c => Slice(c, start, count)).ToList();
            await WithSessionAsync(async (client, session) =>
            {
                await client.LoadTableBinaryColumnarAsync(session, table, batch, columnNames, cancellation);
                return true;
            }, cancellation);
        }
    }

    public Task<string> VersionAsync(CancellationToken cancellation) =>
        WithSessionAsync((client, _) => client.GetVersionAsync(cancellation), cancellation);

    public async ValueTask DisposeAsync()
    {
        if (_client is not null && _session is not null)
        {
            try
            {
                await _client.DisconnectAsync(_session);
            }
            catch (Exception e) when (e is HeavyDbServerException or TTransportException or IOException)
            {
                // The session may already be gone; nothing to release then.
            }
        }

        _client?.Dispose();
        _gate.Dispose();
    }

    private async Task<T> WithSessionAsync<T>(Func<HeavyClient, string, Task<T>> call, CancellationToken cancellation)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            try
            {
                return await call(_client!, _session!);
            }
            catch (HeavyDbServerException e) when (e.IsInvalidSession)
            {
                await ReconnectAsync(cancellation);
                return await call(_client!, _session!);
            }
        }
        catch (Exception e) when (e is TTransportException or SocketException or IOException or HttpRequestException)
        {
            throw new BackendException("heavydb", $"lost HeavyDB at {_connection}: {e.Message}", e);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReconnectAsync(CancellationToken cancellation)
    {
        _client?.Dispose();
        try
        {
            var configuration = new TConfiguration();
            TTransport transport = _connection.Protocol == "http"
                ? new THttpTransport(new HttpClient(), configuration, new Uri($"http://{_connection.Host}:{_connection.Port}/"))
                : new TBufferedTransport(new TSocketTransport(_connection.Host, _connection.Port, configuration, 30_000), 64 * 1024);
            await transport.OpenAsync(cancellation);
            TProtocol protocol = _connection.Protocol == "http" ? new TJsonProtocol(transport) : new TBinaryProtocol(transport, true, true);
            _client = new HeavyClient(protocol);
            _session = await _client.ConnectAsync(_connection.User, _connection.Password, _connection.Database, cancellation);
        }
        catch (Exception e) when (e is TTransportException or SocketException or IOException or HttpRequestException)
        {
            throw new BackendException("heavydb", $"cannot reach HeavyDB at {_connection}: {e.Message}", e);
        }
        catch (HeavyDbServerException e)
        {
            throw new BackendException("heavydb", $"HeavyDB at {_connection} refused the connection: {e.Message}", e);
        }
    }

    private static HeavyColumn Slice(HeavyColumn c, int start, int count) => new(
        c.Ints.Length > 0 ? c.Ints[start..(start + count)] : [],
        c.Reals.Length > 0 ? c.Reals[start..(start + count)] : [],
        c.Strings.Length > 0 ? c.Strings[start..(start + count)] : [],
        c.Nulls[start..(start + count)]);
}
