using Thrift.Protocol;
using Thrift.Protocol.Entities;
using Thrift.Protocol.Utilities;

namespace HeavyOptimizer.Backends.HeavyDb.Thrift;

/// <summary>
/// The structs of HeavyDB's Thrift IDL (service <c>Heavy</c>, heavy.thrift and common.thrift) that this project
/// exchanges, encoded by hand with the ApacheThrift protocol classes: one codec for both directions, so the client and
/// the protocol-level stand-in server (<see cref="StandIn.HeavyDbStandInServer"/>) share every field id and type, and
/// both are proven byte for byte against shared/heavydb-wire.
/// </summary>
internal static class HeavyWire
{
    /// <summary>HeavyDB's TEncodingType.DICT: dictionary-encoded text.</summary>
    public const int DictEncoding = 4;

    /// <summary>HeavyDB's TEncodingType.DATE_IN_DAYS: how DATE columns are stored.</summary>
    public const int DateInDaysEncoding = 7;

    /// <summary>Writes a call's or a reply's message: header, the struct <c>&lt;method&gt;_args</c> or <c>_result</c>, end; flushed.</summary>
    public static async Task WriteMessageAsync(TProtocol p, string method, TMessageType type, int sequence, Func<TProtocol, CancellationToken, Task> writeFields, CancellationToken ct)
    {
        await p.WriteMessageBeginAsync(new TMessage(method, type, sequence), ct);
        await p.WriteStructBeginAsync(new TStruct(method + (type == TMessageType.Call ? "_args" : "_result")), ct);
        await writeFields(p, ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
        await p.WriteMessageEndAsync(ct);
        await p.Transport.FlushAsync(ct);
    }

    /// <summary>Writes field 1 of a result struct: a TDBException carrying <paramref name="message"/>.</summary>
    public static async Task WriteDbExceptionAsync(TProtocol p, string message, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField("e", TType.Struct, 1), ct);
        await p.WriteStructBeginAsync(new TStruct("TDBException"), ct);
        await WriteStringFieldAsync(p, 1, message, ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
        await p.WriteFieldEndAsync(ct);
    }

    /// <summary>Reads a struct whose field 1 is its message (TDBException, TApplicationException).</summary>
    public static async Task<string> ReadErrorMessageAsync(TProtocol p, CancellationToken ct)
    {
        var text = "server error";
        await ReadStructAsync(p, async (field, c) =>
        {
            if (field.ID == 1 && field.Type == TType.String)
            {
                text = await p.ReadStringAsync(c);
                return true;
            }

            return false;
        }, ct);
        return text;
    }

    /// <summary>Writes a columnar TQueryResult as HeavyDB does: row descriptors, no rows, the columns, timings, success, query type.</summary>
    public static async Task WriteQueryResultAsync(TProtocol p, HeavyQueryResult result, int queryType, CancellationToken ct)
    {
        await p.WriteStructBeginAsync(new TStruct("TQueryResult"), ct);
        await p.WriteFieldBeginAsync(new TField("row_set", TType.Struct, 1), ct);
        await p.WriteStructBeginAsync(new TStruct("TRowSet"), ct);
        await WriteListAsync(p, "row_desc", 1, TType.Struct, result.Descriptors, (d, c) => WriteColumnTypeAsync(p, d, c), ct);
        await WriteListAsync<HeavyColumn>(p, "rows", 2, TType.Struct, [], (_, _) => Task.CompletedTask, ct);
        await WriteListAsync(p, "columns", 3, TType.Struct, result.Columns, (col, c) => WriteColumnAsync(p, col, c), ct);
        await WriteBoolFieldAsync(p, 4, true, ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
        await p.WriteFieldEndAsync(ct);
        await WriteI64FieldAsync(p, 2, result.ExecutionTimeMs, ct);
        await WriteI64FieldAsync(p, 3, result.TotalTimeMs, ct);
        await WriteStringFieldAsync(p, 4, string.Empty, ct);
        await WriteStringFieldAsync(p, 5, string.Empty, ct);
        await WriteBoolFieldAsync(p, 6, true, ct);
        await WriteI32FieldAsync(p, 7, queryType, ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
    }

    /// <summary>Reads a columnar TQueryResult: descriptors, columns and timings (rows and the rest are skipped).</summary>
    public static async Task<HeavyQueryResult> ReadQueryResultAsync(TProtocol p, CancellationToken cancellation)
    {
        var descriptors = new List<HeavyColumnType>();
        var columns = new List<HeavyColumn>();
        long execution = 0, total = 0;
        await ReadStructAsync(p, async (field, ct) =>
        {
            switch (field.ID)
            {
                case 1 when field.Type == TType.Struct:
                    await ReadStructAsync(p, async (rowSet, ct2) =>
                    {
                        switch (rowSet.ID)
                        {
                            case 1 when rowSet.Type == TType.List:
                                await ReadListAsync(p, async ct3 => descriptors.Add(await ReadColumnTypeAsync(p, ct3)), ct2);
                                return true;
                            case 3 when rowSet.Type == TType.List:
                                await ReadListAsync(p, async ct3 => columns.Add(await ReadColumnAsync(p, ct3)), ct2);
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

    /// <summary>Writes a TColumn: its TColumnData with all four lists (the unused ones empty) and its nulls.</summary>
    public static async Task WriteColumnAsync(TProtocol p, HeavyColumn column, CancellationToken ct)
    {
        await p.WriteStructBeginAsync(new TStruct("TColumn"), ct);
        await p.WriteFieldBeginAsync(new TField("data", TType.Struct, 1), ct);
        await p.WriteStructBeginAsync(new TStruct("TColumnData"), ct);
        await WriteListAsync(p, "int_col", 1, TType.I64, column.Ints, (v, c) => p.WriteI64Async(v, c), ct);
        await WriteListAsync(p, "real_col", 2, TType.Double, column.Reals, (v, c) => p.WriteDoubleAsync(v, c), ct);
        await WriteListAsync(p, "str_col", 3, TType.String, column.Strings, (v, c) => p.WriteStringAsync(v, c), ct);
        await WriteListAsync<HeavyColumn>(p, "arr_col", 4, TType.Struct, [], (v, c) => WriteColumnAsync(p, v, c), ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
        await p.WriteFieldEndAsync(ct);
        await WriteListAsync(p, "nulls", 2, TType.Bool, column.Nulls, (v, c) => p.WriteBoolAsync(v, c), ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
    }

    /// <summary>Reads a TColumn.</summary>
    public static async Task<HeavyColumn> ReadColumnAsync(TProtocol p, CancellationToken cancellation)
    {
        var ints = new List<long>();
        var reals = new List<double>();
        var strings = new List<string>();
        var nulls = new List<bool>();
        await ReadStructAsync(p, async (field, ct) =>
        {
            if (field.ID == 1 && field.Type == TType.Struct)
            {
                await ReadStructAsync(p, async (data, ct2) =>
                {
                    switch (data.ID)
                    {
                        case 1 when data.Type == TType.List:
                            await ReadListAsync(p, async ct3 => ints.Add(await p.ReadI64Async(ct3)), ct2);
                            return true;
                        case 2 when data.Type == TType.List:
                            await ReadListAsync(p, async ct3 => reals.Add(await p.ReadDoubleAsync(ct3)), ct2);
                            return true;
                        case 3 when data.Type == TType.List:
                            await ReadListAsync(p, async ct3 => strings.Add(await p.ReadStringAsync(ct3)), ct2);
                            return true;
                        default:
                            return false;
                    }
                }, ct);
                return true;
            }

            if (field.ID == 2 && field.Type == TType.List)
            {
                await ReadListAsync(p, async ct2 => nulls.Add(await p.ReadBoolAsync(ct2)), ct);
                return true;
            }

            return false;
        }, cancellation);
        return new HeavyColumn([.. ints], [.. reals], [.. strings], [.. nulls]);
    }

    /// <summary>Reads a list of TColumn.</summary>
    public static async Task<List<HeavyColumn>> ReadColumnsAsync(TProtocol p, CancellationToken ct)
    {
        var columns = new List<HeavyColumn>();
        await ReadListAsync(p, async c => columns.Add(await ReadColumnAsync(p, c)), ct);
        return columns;
    }

    /// <summary>Reads a list of strings.</summary>
    public static async Task<List<string>> ReadStringsAsync(TProtocol p, CancellationToken ct)
    {
        var values = new List<string>();
        await ReadListAsync(p, async c => values.Add(await p.ReadStringAsync(c)), ct);
        return values;
    }

    /// <summary>Writes a list field.</summary>
    public static async Task WriteListAsync<T>(
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

    /// <summary>Writes a string field.</summary>
    public static async Task WriteStringFieldAsync(TProtocol p, short id, string value, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField(null, TType.String, id), ct);
        await p.WriteStringAsync(value, ct);
        await p.WriteFieldEndAsync(ct);
    }

    /// <summary>Writes an i32 field.</summary>
    public static async Task WriteI32FieldAsync(TProtocol p, short id, int value, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField(null, TType.I32, id), ct);
        await p.WriteI32Async(value, ct);
        await p.WriteFieldEndAsync(ct);
    }

    /// <summary>Writes a bool field.</summary>
    public static async Task WriteBoolFieldAsync(TProtocol p, short id, bool value, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField(null, TType.Bool, id), ct);
        await p.WriteBoolAsync(value, ct);
        await p.WriteFieldEndAsync(ct);
    }

    /// <summary>Reads a struct, handing each field to <paramref name="onField"/>; fields it does not take are skipped.</summary>
    public static async Task ReadStructAsync(TProtocol p, Func<TField, CancellationToken, Task<bool>> onField, CancellationToken ct)
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

    /// <summary>Reads a list, element by element.</summary>
    public static async Task ReadListAsync(TProtocol p, Func<CancellationToken, Task> readElement, CancellationToken ct)
    {
        var list = await p.ReadListBeginAsync(ct);
        for (var i = 0; i < list.Count; i++)
        {
            await readElement(ct);
        }

        await p.ReadListEndAsync(ct);
    }

    private static async Task WriteI64FieldAsync(TProtocol p, short id, long value, CancellationToken ct)
    {
        await p.WriteFieldBeginAsync(new TField(null, TType.I64, id), ct);
        await p.WriteI64Async(value, ct);
        await p.WriteFieldEndAsync(ct);
    }

    /// <summary>TColumnType with its TTypeInfo: name, type, nullable, not an array, encoding, precision 0, scale 0, comp_param, size -1.</summary>
    private static async Task WriteColumnTypeAsync(TProtocol p, HeavyColumnType d, CancellationToken ct)
    {
        await p.WriteStructBeginAsync(new TStruct("TColumnType"), ct);
        await WriteStringFieldAsync(p, 1, d.Name, ct);
        await p.WriteFieldBeginAsync(new TField("col_type", TType.Struct, 2), ct);
        await p.WriteStructBeginAsync(new TStruct("TTypeInfo"), ct);
        await WriteI32FieldAsync(p, 1, (int)d.Type, ct);
        await WriteBoolFieldAsync(p, 2, d.Nullable, ct);
        await WriteBoolFieldAsync(p, 3, false, ct);
        await WriteI32FieldAsync(p, 4, d.Encoding, ct);
        await WriteI32FieldAsync(p, 5, 0, ct);
        await WriteI32FieldAsync(p, 6, 0, ct);
        await WriteI32FieldAsync(p, 7, d.Encoding == DictEncoding ? 32 : 0, ct);
        await WriteI32FieldAsync(p, 8, -1, ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
        await p.WriteFieldEndAsync(ct);
        await WriteBoolFieldAsync(p, 3, false, ct);
        await WriteStringFieldAsync(p, 4, string.Empty, ct);
        await WriteBoolFieldAsync(p, 5, false, ct);
        await WriteBoolFieldAsync(p, 6, false, ct);
        await WriteI64FieldAsync(p, 7, 0, ct);
        await p.WriteFieldStopAsync(ct);
        await p.WriteStructEndAsync(ct);
    }

    private static async Task<HeavyColumnType> ReadColumnTypeAsync(TProtocol p, CancellationToken cancellation)
    {
        var name = string.Empty;
        int type = 0, encoding = 0;
        var nullable = false;
        await ReadStructAsync(p, async (field, ct) =>
        {
            if (field.ID == 1 && field.Type == TType.String)
            {
                name = await p.ReadStringAsync(ct);
                return true;
            }

            if (field.ID == 2 && field.Type == TType.Struct)
            {
                await ReadStructAsync(p, async (info, ct2) =>
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
}
