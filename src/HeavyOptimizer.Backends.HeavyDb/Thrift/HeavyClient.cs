using Thrift.Protocol;
using Thrift.Protocol.Entities;

namespace HeavyOptimizer.Backends.HeavyDb.Thrift;

/// <summary>
/// The calls of HeavyDB's Thrift service <c>Heavy</c> that this project uses, encoded by hand with the ApacheThrift
/// protocol classes (field ids and types from HeavyDB's IDL in <see cref="HeavyWire"/>, proven byte for byte against
/// shared/heavydb-wire). Works over the binary protocol (port 6274, buffered, unframed) and the JSON protocol (HTTP,
/// port 6278). One call at a time; sequence ids count from 1, and a reply must carry its call's.
/// </summary>
public sealed class HeavyClient(TProtocol input, TProtocol output) : IDisposable
{
    private int _sequence;

    /// <summary>Creates a client that reads and writes through one protocol.</summary>
    public HeavyClient(TProtocol protocol)
        : this(protocol, protocol)
    {
    }

    /// <summary><c>connect(user, passwd, dbname)</c>: returns the session id.</summary>
    public Task<string> ConnectAsync(string user, string password, string database, CancellationToken cancellation = default) =>
        CallAsync("connect", async (p, ct) =>
        {
            await HeavyWire.WriteStringFieldAsync(p, 1, user, ct);
            await HeavyWire.WriteStringFieldAsync(p, 2, password, ct);
            await HeavyWire.WriteStringFieldAsync(p, 3, database, ct);
        }, (p, ct) => p.ReadStringAsync(ct).AsTask(), cancellation);

    /// <summary><c>disconnect(session)</c>.</summary>
    public Task DisconnectAsync(string session, CancellationToken cancellation = default) =>
        CallAsync<bool>("disconnect", (p, ct) => HeavyWire.WriteStringFieldAsync(p, 1, session, ct), null, cancellation);

    /// <summary><c>get_version()</c>.</summary>
    public Task<string> GetVersionAsync(CancellationToken cancellation = default) =>
        CallAsync("get_version", (_, _) => Task.CompletedTask, (p, ct) => p.ReadStringAsync(ct).AsTask(), cancellation);

    /// <summary><c>sql_execute(session, query, column_format, nonce, first_n, at_most_n)</c>, columnar.</summary>
    public Task<HeavyQueryResult> SqlExecuteAsync(
        string session, string query, bool columnFormat = true, string nonce = "", int firstN = -1, int atMostN = -1,
        CancellationToken cancellation = default) =>
        CallAsync("sql_execute", async (p, ct) =>
        {
            await HeavyWire.WriteStringFieldAsync(p, 1, session, ct);
            await HeavyWire.WriteStringFieldAsync(p, 2, query, ct);
            await HeavyWire.WriteBoolFieldAsync(p, 3, columnFormat, ct);
            await HeavyWire.WriteStringFieldAsync(p, 4, nonce, ct);
            await HeavyWire.WriteI32FieldAsync(p, 5, firstN, ct);
            await HeavyWire.WriteI32FieldAsync(p, 6, atMostN, ct);
        }, HeavyWire.ReadQueryResultAsync, cancellation);

    /// <summary><c>load_table_binary_columnar(session, table_name, cols, column_names)</c>.</summary>
    public Task LoadTableBinaryColumnarAsync(
        string session, string table, IReadOnlyList<HeavyColumn> columns, IReadOnlyList<string> columnNames, CancellationToken cancellation = default) =>
        CallAsync<bool>("load_table_binary_columnar", async (p, ct) =>
        {
            await HeavyWire.WriteStringFieldAsync(p, 1, session, ct);
            await HeavyWire.WriteStringFieldAsync(p, 2, table, ct);
            await HeavyWire.WriteListAsync(p, "cols", 3, TType.Struct, columns, (c, t) => HeavyWire.WriteColumnAsync(p, c, t), ct);
            await HeavyWire.WriteListAsync(p, "column_names", 4, TType.String, columnNames, (n, t) => p.WriteStringAsync(n, t), ct);
        }, null, cancellation);

    /// <summary>Advances the sequence id as if <paramref name="calls"/> calls had been made (for replaying captured exchanges).</summary>
    public void SkipSequence(int calls) => _sequence += calls;

    /// <inheritdoc />
    public void Dispose()
    {
        input.Transport.Close();
        output.Transport.Close();
    }

    private async Task<T> CallAsync<T>(
        string method, Func<TProtocol, CancellationToken, Task> writeArgs, Func<TProtocol, CancellationToken, Task<T>>? readSuccess,
        CancellationToken cancellation)
    {
        var sequence = ++_sequence;
        await HeavyWire.WriteMessageAsync(output, method, TMessageType.Call, sequence, writeArgs, cancellation);
        return await ReadReplyAsync(method, sequence, readSuccess, cancellation);
    }

    private async Task<T> ReadReplyAsync<T>(string method, int sequence, Func<TProtocol, CancellationToken, Task<T>>? readSuccess, CancellationToken cancellation)
    {
        var message = await input.ReadMessageBeginAsync(cancellation);
        if (message.SeqID != sequence)
        {
            throw new HeavyDbProtocolException($"{method}: the reply carries sequence id {message.SeqID}, the call {sequence}: the connection is out of step");
        }

        if (message.Type == TMessageType.Exception)
        {
            // TApplicationException carries its message in field 1, as TDBException does.
            var error = await HeavyWire.ReadErrorMessageAsync(input, cancellation);
            await input.ReadMessageEndAsync(cancellation);
            throw new HeavyDbServerException($"{method}: {error}");
        }

        if (message.Name != method)
        {
            throw new HeavyDbProtocolException($"{method}: the server answered '{message.Name}'");
        }

        T result = default!;
        string? serverError = null;
        await HeavyWire.ReadStructAsync(input, async (field, ct) =>
        {
            if (field.ID == 0 && readSuccess is not null)
            {
                result = await readSuccess(input, ct);
                return true;
            }

            if (field.ID == 1 && field.Type == TType.Struct)
            {
                serverError = await HeavyWire.ReadErrorMessageAsync(input, ct);
                return true;
            }

            return false;
        }, cancellation);
        await input.ReadMessageEndAsync(cancellation);
        return serverError is not null ? throw new HeavyDbServerException(serverError) : result;
    }
}
