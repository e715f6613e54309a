using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Silo.Security;

/// <summary>
/// Where hosts find their secrets without a command line (which every local user sees in <c>ps</c>): the PostgreSQL
/// connection string from <c>--postgres-file</c> or <c>$HOPT_POSTGRES</c>, the HeavyDB URL from <c>$HEAVYDB_URL_FILE</c>
/// (or <c>$HEAVYDB_URL</c>, read by the backend itself). Files must be private (mode 600).
/// </summary>
public static class HostSecrets
{
    /// <summary>The environment variable holding the cluster's PostgreSQL connection string for silos and <c>hopt db init</c>.</summary>
    public const string PostgresVariable = "HOPT_POSTGRES";

    /// <summary>The environment variable naming a private file that holds the HeavyDB URL.</summary>
    public const string HeavyDbUrlFileVariable = "HEAVYDB_URL_FILE";

    /// <summary>The connection string: given on the command line, else from the file, else from <c>$HOPT_POSTGRES</c>; null for none.</summary>
    public static string? Postgres(string? given, string? file)
    {
        if (given is not null && file is not null)
        {
            throw new ArgumentException("--postgres and --postgres-file: choose one");
        }

        return given ?? (file is not null ? SecretFiles.ReadText(file, "--postgres-file") : Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } set ? set : null);
    }

    /// <summary>The HeavyDB URL: given, else from <c>$HEAVYDB_URL_FILE</c>; null to let the backend read <c>$HEAVYDB_URL</c> or use the embedded engine.</summary>
    public static string? HeavyDbUrl(string? given) =>
        given ?? (Environment.GetEnvironmentVariable(HeavyDbUrlFileVariable) is { Length: > 0 } file ? SecretFiles.ReadText(file, HeavyDbUrlFileVariable) : null);

    /// <summary>A warning to print when a secret was given on the command line, or null.</summary>
    public static string? CommandLineWarning(string option, string? given) =>
        given is not null && (given.Contains("password=", StringComparison.OrdinalIgnoreCase) || given.Contains(":", StringComparison.Ordinal) && given.Contains('@', StringComparison.Ordinal))
            ? $"hopt: warning: {option} on the command line shows its password to every local user (ps); use the environment or a private file instead (see hopt silo --help)"
            : null;
}
