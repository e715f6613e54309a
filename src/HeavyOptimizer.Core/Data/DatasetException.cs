namespace HeavyOptimizer.Core.Data;

/// <summary>Bad input: the message names the file and, where it applies, the row (1-based, header = 1) and column.</summary>
public sealed class DatasetException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/>; row and column are omitted from the message when null.</summary>
    public DatasetException(string file, string problem, long? row = null, string? column = null)
        : base(Format(file, problem, row, column))
    {
        File = file;
        Row = row;
        ColumnName = column;
    }

    /// <summary>The input file.</summary>
    public string File { get; }

    /// <summary>1-based line number in the file (the header is line 1), when known.</summary>
    public long? Row { get; }

    /// <summary>The column's header name, when known.</summary>
    public string? ColumnName { get; }

    private static string Format(string file, string problem, long? row, string? column)
    {
        var where = file;
        if (row is not null)
        {
            where += $", row {row}";
        }

        if (column is not null)
        {
            where += $", column '{column}'";
        }

        return $"{where}: {problem}";
    }
}
