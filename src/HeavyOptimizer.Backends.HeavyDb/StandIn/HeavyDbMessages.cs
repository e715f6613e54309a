using System.Text.RegularExpressions;

namespace HeavyOptimizer.Backends.HeavyDb.StandIn;

/// <summary>
/// The texts of the TDBExceptions a HeavyDB server (8.x, heavyai/heavydb ThriftHandler/DBHandler.cpp and
/// Catalog/SysCatalog.cpp) sends for the situations the stand-in reproduces.
/// </summary>
internal static partial class HeavyDbMessages
{
    /// <summary>A wrong password or an unknown user (SysCatalog::loginImpl; servers before 5.2 said "Invalid credentials.").</summary>
    public const string AuthenticationFailure = "Authentication failure";

    /// <summary>A session the server does not know or has expired (DBHandler::get_session_ptr).</summary>
    public const string InvalidSession = "Session not valid or expired.";

    /// <summary>A database that does not exist (SysCatalog::getMetadataWithDefaultDB).</summary>
    public static string UnknownDatabase(string database) => $"Database name {database} does not exist.";

    /// <summary>
    /// A statement the engine refused, in HeavyDB's words where they are known (a missing table, a table that already
    /// exists), otherwise the engine's first line after HeavyDB's "SQL Error: ".
    /// </summary>
    public static string SqlError(string engineMessage)
    {
        ArgumentNullException.ThrowIfNull(engineMessage);
        if (Missing().Match(engineMessage) is { Success: true } missing)
        {
            return $"SQL Error: Object '{missing.Groups[1].Value}' not found";
        }

        return Exists().Match(engineMessage) is { Success: true } exists
            ? $"Table or View with name \"{exists.Groups[1].Value}\" already exists."
            : $"SQL Error: {Core.Messages.OneLine(engineMessage)}";
    }

    /// <summary>A load whose column list and names do not match (DBHandler::prepare_loader_generic).</summary>
    public static string LoadMismatch(int columns, int names) => $"Number of columns specified does not match the number of columns given ({names} vs {columns})";

    [GeneratedRegex("Table with name ([A-Za-z0-9_]+) does not exist")]
    private static partial Regex Missing();

    [GeneratedRegex("Table with name \"?([A-Za-z0-9_]+)\"? already exists")]
    private static partial Regex Exists();
}
