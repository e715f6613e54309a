using System.Globalization;

namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// Everything that differs between HeavyDB's SQL and the embedded stand-in's (DuckDB), in one place. The backend's
/// statements are written once against these pieces.
/// </summary>
internal sealed record SqlDialect(string Name, string TextType, string TableOptions, bool CorrelationNaNForZeroVariance)
{
    /// <summary>HeavyDB: dictionary-encoded text, fragment size in the DDL, CORR is NULL on zero variance.</summary>
    public static SqlDialect HeavyDb { get; } = new("HeavyDB", "TEXT ENCODING DICT(32)", " WITH (fragment_size = 32000000)", false);

    /// <summary>DuckDB standing in for HeavyDB: plain VARCHAR, no table options, CORR is NaN on zero variance.</summary>
    public static SqlDialect DuckDb { get; } = new("DuckDB", "VARCHAR", string.Empty, true);

    /// <summary>A string literal; HeavyDB has no bound parameters, so every value in SQL goes through here.</summary>
    public static string Literal(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException("text with a NUL character cannot be written as a SQL literal")
            : "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>A DATE literal.</summary>
    public static string Literal(DateOnly value) => $"DATE '{value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}'";

    /// <summary>A TIMESTAMP literal (UTC, seconds).</summary>
    public static string Literal(DateTimeOffset value) =>
        $"TIMESTAMP '{value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}'";

    /// <summary>An integer literal.</summary>
    public static string Literal(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>CORR(a, b), NULL when either side has zero variance, as HeavyDB returns it.</summary>
    public string Correlation(string a, string b) => CorrelationNaNForZeroVariance
        ? $"CASE WHEN isnan(CORR({a}, {b})) THEN NULL ELSE CORR({a}, {b}) END"
        : $"CORR({a}, {b})";

    /// <summary>A query listing the tables whose names start with <paramref name="prefix"/>, through information_schema (the embedded engine and the stand-in have it; for tests).</summary>
    public string TablesLike(string prefix) => $"SELECT table_name FROM information_schema.tables WHERE table_name LIKE {Literal(prefix + "%")}";

    /// <summary>CREATE TABLE with this dialect's text type and options.</summary>
    public string CreateTable(string table, params (string Name, string Type)[] columns) =>
        $"CREATE TABLE {table} ({string.Join(", ", columns.Select(c => $"{c.Name} {(c.Type == "TEXT" ? TextType : c.Type)}"))}){TableOptions}";
}
