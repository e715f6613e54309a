namespace HeavyOptimizer.Core;

/// <summary>How errors are shown: on one line, wherever they come from.</summary>
public static class Messages
{
    /// <summary>The first non-empty line of <paramref name="message"/>, trimmed (a stack trace or a .NET detail line never follows it).</summary>
    public static string OneLine(string? message)
    {
        var text = (message ?? string.Empty).AsSpan().Trim();
        var end = text.IndexOfAny('\r', '\n');
        return (end < 0 ? text : text[..end]).Trim().ToString();
    }
}
