using System.Text.RegularExpressions;

namespace HeavyOptimizer.Silo;

/// <summary>The command-line parser's errors in words for people, for hopt and hopt-silo alike.</summary>
public static partial class ParserMessages
{
    /// <summary>A parser error in words for people: "--seed: 'abc' is not a whole number" rather than .NET's type names.</summary>
    public static string Describe(string parserMessage)
    {
        ArgumentNullException.ThrowIfNull(parserMessage);
        var cannot = CannotParse().Match(parserMessage);
        return cannot.Success ? $"{cannot.Groups["symbol"].Value}: '{cannot.Groups["value"].Value}' is not {Kind(cannot.Groups["type"].Value)}" : parserMessage;
    }

    private static string Kind(string type)
    {
        var inner = NullableOf().Match(type) is { Success: true } nullable ? nullable.Groups[1].Value : type;
        return inner switch
        {
            "System.Int32" or "System.Int64" => "a whole number",
            "System.UInt64" => "a whole number, 0 or more",
            "System.Double" => "a number",
            "System.Boolean" => "true or false",
            "System.DateOnly" => "a date (yyyy-MM-dd)",
            "HeavyOptimizer.Abstractions.JobState" => "one of queued, running, completed, failed, cancelled",
            _ => "valid here",
        };
    }

    [GeneratedRegex("^Cannot parse argument '(?<value>.*)' for (option|command) '(?<symbol>[^']+)' as expected type '(?<type>[^']+)'")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"^System\.Nullable`1\[(.+)\]$")]
    private static partial Regex NullableOf();
}
