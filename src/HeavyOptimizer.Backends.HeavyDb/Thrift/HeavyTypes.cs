namespace HeavyOptimizer.Backends.HeavyDb.Thrift;

/// <summary>HeavyDB's TDatumType (the subset this client reads).</summary>
public enum HeavyDatumType
{
    /// <summary>SMALLINT.</summary>
    SmallInt = 0,

    /// <summary>INT.</summary>
    Int = 1,

    /// <summary>BIGINT.</summary>
    BigInt = 2,

    /// <summary>FLOAT.</summary>
    Float = 3,

    /// <summary>DECIMAL.</summary>
    Decimal = 4,

    /// <summary>DOUBLE.</summary>
    Double = 5,

    /// <summary>TEXT.</summary>
    Str = 6,

    /// <summary>TIME.</summary>
    Time = 7,

    /// <summary>TIMESTAMP.</summary>
    Timestamp = 8,

    /// <summary>DATE.</summary>
    Date = 9,

    /// <summary>BOOLEAN.</summary>
    Bool = 10,
}

/// <summary>
/// One column of values as HeavyDB's Thrift TColumn carries it: integers, booleans and DATE/TIME/TIMESTAMP in
/// <see cref="Ints"/>, DECIMAL and floating point in <see cref="Reals"/>, text in <see cref="Strings"/>; the
/// <see cref="Nulls"/> list is the truth about NULL (the value lists hold a placeholder there).
/// </summary>
public sealed record HeavyColumn(long[] Ints, double[] Reals, string[] Strings, bool[] Nulls)
{
    /// <summary>Number of values.</summary>
    public int Length => Nulls.Length;

    /// <summary>A column of 64-bit integers (no NULLs).</summary>
    public static HeavyColumn OfInts(long[] values) => new(values, [], [], new bool[values.Length]);

    /// <summary>A column of doubles (no NULLs).</summary>
    public static HeavyColumn OfReals(double[] values) => new([], values, [], new bool[values.Length]);

    /// <summary>A column of strings (no NULLs).</summary>
    public static HeavyColumn OfStrings(string[] values) => new([], [], values, new bool[values.Length]);

    /// <summary>A DATE column, sent as seconds since the epoch.</summary>
    public static HeavyColumn OfDates(DateOnly[] values) =>
        OfInts(values.Select(d => new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds()).ToArray());
}

/// <summary>A result column's name and type (TColumnType with its TTypeInfo).</summary>
public sealed record HeavyColumnType(string Name, HeavyDatumType Type, int Encoding, bool Nullable);

/// <summary>A decoded columnar TQueryResult.</summary>
public sealed record HeavyQueryResult(IReadOnlyList<HeavyColumnType> Descriptors, IReadOnlyList<HeavyColumn> Columns, long ExecutionTimeMs, long TotalTimeMs)
{
    /// <summary>Rows in the result.</summary>
    public int RowCount => Columns.Count == 0 ? 0 : Columns[0].Length;

    /// <summary>The value at (row, column) typed by its descriptor: string, double, long, bool, DateOnly, DateTime, or null.</summary>
    public object? Value(int row, int column)
    {
        var data = Columns[column];
        if (data.Nulls[row])
        {
            return null;
        }

        return Descriptors[column].Type switch
        {
            HeavyDatumType.Str => data.Strings[row],
            HeavyDatumType.Double or HeavyDatumType.Float or HeavyDatumType.Decimal => data.Reals[row],
            HeavyDatumType.Date => DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(data.Ints[row]).UtcDateTime),
            HeavyDatumType.Timestamp => DateTimeOffset.FromUnixTimeSeconds(data.Ints[row]).UtcDateTime,
            HeavyDatumType.Bool => data.Ints[row] != 0,
            _ => data.Ints[row],
        };
    }
}

/// <summary>The conversation with the server went wrong (a reply out of step or for another call): the connection cannot be trusted.</summary>
public sealed class HeavyDbProtocolException(string message) : Exception(message);

/// <summary>A TDBException from the server, carrying its message.</summary>
public sealed class HeavyDbServerException(string message) : Exception(message)
{
    /// <summary>
    /// Whether the server says the session is no longer valid: "Session not valid or expired." (HeavyDB 6.2 on), or
    /// the older "Session not valid.", "Idle Session Timeout. User should re-authenticate." and "Maximum active Session
    /// Timeout. ...".
    /// </summary>
    public bool IsInvalidSession =>
        Message.Contains("session", StringComparison.OrdinalIgnoreCase)
        && (Message.Contains("invalid", StringComparison.OrdinalIgnoreCase) || Message.Contains("not valid", StringComparison.OrdinalIgnoreCase)
            || Message.Contains("expired", StringComparison.OrdinalIgnoreCase) || Message.Contains("re-authenticate", StringComparison.OrdinalIgnoreCase));
}
