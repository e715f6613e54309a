using Thrift.Protocol;
using Thrift.Protocol.Entities;
using Thrift.Protocol.Utilities;

namespace HeavyOptimizer.Backends.HeavyDb.Thrift;

/// <summary>
/// The calls of HeavyDB's Thrift service <c>Heavy</c> that this project uses, encoded by hand with the ApacheThrift
/// protocol classes (field ids and types from HeavyDB's IDL, proven byte for byte against shared/heavydb-wire).
/// Works over the binary protocol (port 6274, buffered, unframed) and the JSON protocol (HTTP, port 6278). One call at
/// a time; sequence ids count from 1.
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
            await WriteStringField(p, 1, user, ct);
            await WriteStringField(p, 2, password, ct);
            await WriteStringField(p, 3, database, ct);
        }, (p, ct) => p.ReadStringAsync(ct).AsTask(), cancellation);

    /// <summary><c>disconnect(session)</c>.</summary>
    public Task DisconnectAsync(string session, CancellationToken cancellation = default) =>
        CallAsync<bool>("disconnect", (p, ct) => WriteStringField(p, 1, session, ct), null, cancellation);

    /// <summary><c>get_version()</c>.</summary>
    public Task<string> GetVersionAsync(CancellationToken cancellation = default) =>
        CallAsync("get_version", (_, _) => Task.CompletedTask, (p, ct) => p.ReadStringAsync(ct).AsTask(), cancellation);

    /// <summary><c>sql_execute(session, query, column_format, nonce, first_n, at_most_n)</c>, columnar.</summary>
    public Task<HeavyQueryResult> SqlExecuteAsync(
        string session, string query, bool columnFormat = true, string nonce = "", int firstN = -1, int atMostN = -1,
        CancellationToken cancellation = default) =>
        CallAsync("sql_execute", async (p, ct) =>
        {
            await WriteStringField(p, 1, session, ct);
            await WriteStringField(p, 2, query, ct);
            await p.WriteFieldBeginAsync(new TField("column_format", TType.Bool, 3), ct);
            await p.WriteBoolAsync(columnFormat, ct);
            await p.WriteFieldEndAsync(ct);
            await WriteStringField(p, 4, nonce, ct);
            await WriteI32Field(p, 5, firstN, ct);
            await WriteI32Field(p, 6, atMostN, ct);
        }, ReadQueryResult, cancellation);

    /// <summary><c>load_table_binary_columnar(session, table_name, cols, column_names)</c>.</summary>
    public Task LoadTableBinaryColumnarAsync(
        string session, string table, IReadOnlyList<HeavyColumn> columns, IReadOnlyList<string> columnNames, CancellationToken cancellation = default) =>
        CallAsync<bool>("load_table_binary_columnar", async (p, ct) =>
        {
            await WriteStringField(p, 1, session, ct);
            await WriteStringField(p, 2, table, ct);
            await p.WriteFieldBeginAsync(new TField("cols", TType.List, 3), ct);
            await p.WriteListBeginAsync(new TList(TType.Struct, columns.Count), ct);
            foreach (var column in columns)
            {
                await WriteColumn(p, column, ct);
            }

            await p.WriteListEndAsync(ct);
            await p.WriteFieldEndAsync(ct);
            await p.WriteFieldBeginAsync(new TField("column_names", TType.List, 4), ct);
            await p.WriteListBeginAsync(new TList(TType.String, columnNames.Count), ct);
            foreach (var name in columnNames)
            {
                await p.WriteStringAsync(name, ct);
            }

            await p.WriteListEndAsync(ct);
            await p.WriteFieldEndAsync(ct);
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
        await output.WriteMessageBeginAsync(new TMessage(method, TMessageType.Call, ++_sequence), cancellation);
        await output.WriteStructBeginAsync(new TStruct(method + "_args"), cancellation);
        await writeArgs(output, cancellation);
        await output.WriteFieldStopAsync(cancellation);
        await output.WriteStructEndAsync(cancellation);
        await output.WriteMessageEndAsync(cancellation);
        await output.Transport.FlushAsync(cancellation);
        return await ReadReplyAsync(method, readSuccess, cancellation);
    }

    private async Task<T> ReadReplyAsync<T>(string method, Func<TProtocol, CancellationToken, Task<T>>? readSuccess, CancellationToken cancellation)
    {
        var message = await input.ReadMessageBeginAsync(cancellation);
        if (message.Type == TMessageType.Exception)
        {
            var error = await ReadApplicationError(cancellation);
            throw new HeavyDbServerException($"{method}: {error}");
        }

        if (message.Name != method)
        {
            throw new HeavyDbServerException($"{method}: the server answered '{message.Name}'");
        }

        T result = default!;
        string? serverError = null;
        await ReadStruct(input, async (field, ct) =>
        {
            if (field.ID == 0 && readSuccess is not null)
            {
                result = await readSuccess(input, ct);
                return true;
            }

            if (field.ID == 1 && field.Type == TType.Struct)
            {
                serverError = await ReadErrorMessage(input, ct);
                return true;
            }

            return false;
        }, cancellation);
        await input.ReadMessageEndAsync(cancellation);
        return serverError is not null ? throw new HeavyDbServerException(serverError) : result;
    }

    private async Task<string> ReadApplicationError(CancellationToken cancellation)
    {
        // TApplicationException carries its message in field 1, as TDBException does.
        var text = await ReadErrorMessage(input, cancellation);
        await input.ReadMessageEndAsync(cancellation);
        return text;
    }

    /// <summary>Reads a struct whose field 1 is its message (TDBException, TApplicationException).</summary>
    private static async Task<string> ReadErrorMessage(TProtocol p, CancellationToken cancellation)
    {
        var text = "server error";
        await ReadStruct(p, async (field, ct) =>
        {
            if (field.ID == 1 && field.Type == TType.String)
            {
                text = await p.ReadStringAsync(ct);
                return true;
            }

            return false;
        }, cancellation);
        return text;
    }

    private static async Task<HeavyQueryResult> ReadQueryResult(TProtocol p, CancellationToken cancellation)
    {
        var descriptors = new List<HeavyColumnType>();
        var columns = new List<HeavyColumn>();
        long execution = 0, total = 0;
        await ReadStruct(p, async (field, ct) =>
        {
            switch (field.ID)
            {
                case 1 when field.Type == TType.Struct:
                    await ReadStruct(p, async (rowSet, ct2) =>
                    {
                        switch (rowSet.ID)
                        {
                            case 1 when rowSet.Type == TType.List:
                                await ReadList(p, async ct3 => descriptors.Add(await ReadColumnType(p, ct3)), ct2);
                                return true;
                            case 3 when rowSet.Type == TType.List:
                                await ReadList(p, async ct3 => columns.Add(await ReadColumn(p, ct3)), ct2);
                                return true;
                            default:
                                return false;
                        }
                    }, ct);
                    return true;
                case 2 when field.Type == TType.I64:
                    execution = await p.ReadI64Async(ct);
                    return true;
                case 3 when field.Type == TType.I64:
                    total = await p.ReadI64Async(ct);
                    return true;
                default:
                    return false;
            }
        }, cancellation);
        return new HeavyQueryResult(descriptors, columns, execution, total);
    }

    private static async Task<HeavyColumnType> ReadColumnType(TProtocol p, CancellationToken cancellation)
    {
        var name = string.Empty;
        int type = 0, encoding = 0;
        var nullable = false;
        await ReadStruct(p, async (field, ct) =>
        {
            if (field.ID == 1 && field.Type == TType.String)
            {
                name = await p.ReadStringAsync(ct);
                return true;
            }

            if (field.ID == 2 && field.Type == TType.Struct)
            {
                await ReadStruct(p, async (info, ct2) =>
                {
                    switch (info.ID)
                    {
                        case 1 when info.Type == TType.I32:
                            type = await p.ReadI32Async(ct2);
                            return true;
                        case 2 when info.Type == TType.Bool:
                            nullable = await p.ReadBoolAsync(ct2);
                            return true;
                        case 4 when info.Type == TType.I32:
                            encoding = await p.ReadI32Async(ct2);
                            return true;
                        default:
                            return false;
                    }
                }, ct);
                return true;
            }

            return false;
        }, cancellation);
        return new HeavyColumnType(name, (HeavyDatumType)type, encoding, nullable);
    }

    private static async Task<HeavyColumn> ReadColumn(TProtocol p, CancellationToken cancellation)
    {
        var ints = new List<long>();
        var reals = new List<double>();
        var strings = new List<string>();
        var nulls = new List<bool>();
        await ReadStruct(p, async (field, ct) =>
        {
            if (field.ID == 1 && field.Type == TType.Struct)
            {
                await ReadStruct(p, async (data, ct2) =>
                {
                    switch (data.ID)
                    {
                        case 1 when data.Type == TType.List:
                            await ReadList(p, async ct3 => ints.Add(await p.ReadI64Async(ct3)), ct2);
                            return true;
                        case 2 when data.Type == TType.List:
                            await ReadList(p, async ct3 => reals.Add(await p.ReadDoubleAsync(ct3)), ct2);
                            return true;
                        case 3 when data.Type == TType.List:
                            await ReadList(p, async ct3 => strings.Add(await p.ReadStringAsync(ct3)), ct2);
                            return true;
                        default:
                            return false;
                    }
                }, ct);
                return true;
            }

            if (field.ID == 2 && field.Type == TType.List)
            {
                await ReadList(p, async ct2 => nulls.Add(await p.ReadBoolAsync(ct2)), ct);
                return true;
            }

            return false;
        }, cancellation);
        return new HeavyColumn([.. ints], [.. reals], [.. strings], [.. nulls]);
    }

    private static async Task WriteColumn(TProtocol p, HeavyColumn column, CancellationToken ct)
    {
        await p.WriteStructBeginAsync(new TStruct("TColumn"), ct);
        await p.WriteFieldBeginAsync(new TField("data", TType.Struct, 1), ct);
        await p.WriteStructBeginAsync(new TStruct("TColumnData"), ct);
        await WriteList(p, "int_col", 1, TType.I64, column.Ints, (v, c) => p.WriteI64Async(v, c), ct);
        await WriteList(p, "real_col", 2, TType.Double, column.Reals, (v, c) => p.WriteDoubleAsync(v, c), ct);
        await WriteList(p, "str_col", 3, TType.String, column.Strings, (v, c) => p.WriteStringAsync(v, c), ct);
        await WriteList<HeavyColumn>(p, "arr_col", 4, TType.Struct, [], (v, c) => WriteColumn(p, v, c), ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
        await p.WriteFieldEndAsync(ct);
        await WriteList(p, "nulls", 2, TType.Bool, column.Nulls, (v, c) => p.WriteBoolAsync(v, c), ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
    }

    private static async Task WriteList<T>(
        TProtocol p, string name, short id, TType type, IReadOnlyList<T> values, Func<T, CancellationToken, Task> write, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField(name, TType.List, id), ct);
        await p.WriteListBeginAsync(new TList(type, values.Count), ct);
        foreach (var v in values)
        {
            await write(v, ct);
        }

        await p.WriteListEndAsync(ct);
        await p.WriteFieldEndAsync(ct);
    }

    private static async Task WriteStringField(TProtocol p, short id, string value, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField(null, TType.String, id), ct);
        await p.WriteStringAsync(value, ct);
        await p.WriteFieldEndAsync(ct);
    }

    private static async Task WriteI32Field(TProtocol p, short id, int value, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField(null, TType.I32, id), ct);
        await p.WriteI32Async(value, ct);
        await p.WriteFieldEndAsync(ct);
    }

    /// <summary>Reads a struct, handing each field to <paramref name="onField"/>; fields it does not take are skipped.</summary>
    private static async Task ReadStruct(TProtocol p, Func<TField, CancellationToken, Task<bool>> onField, CancellationToken ct)
    {
        await p.ReadStructBeginAsync(ct);
        while (true)
        {
            var field = await p.ReadFieldBeginAsync(ct);
            if (field.Type == TType.Stop)
            {
                break;
            }

            if (!await onField(field, ct))
            {
                await TProtocolUtil.SkipAsync(p, field.Type, ct);
            }

            await p.ReadFieldEndAsync(ct);
        }

        await p.ReadStructEndAsync(ct);
    }

    private static async Task ReadList(TProtocol p, Func<CancellationToken, Task> readElement, CancellationToken ct)
    {
        var list = await p.ReadListBeginAsync(ct);
        for (var i = 0; i < list.Count; i++)
        {
            await readElement(ct);
        }

        await p.ReadListEndAsync(ct);
    }
}
