namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// Where a HeavyDB server is: <c>heavydb://user:password@host:6274/db?protocol=binary|http</c>. Defaults are
/// HeavyDB's own (admin / HyperInteractive / heavyai; 6274 binary, 6278 HTTP). <see cref="ToString"/> never shows the
/// password.
/// </summary>
public sealed record HeavyDbConnection(string Host, int Port, string User, string Password, string Database, string Protocol)
{
    /// <summary>The environment variable read when no URL is given.</summary>
    public const string EnvironmentVariable = "HEAVYDB_URL";

    /// <summary>Parses a heavydb:// URL; throws <see cref="ArgumentException"/> naming what is wrong (never the password).</summary>
    public static HeavyDbConnection Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "heavydb" || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("HeavyDB URL must look like heavydb://user:password@host:6274/db?protocol=binary|http");
        }

        var protocol = "binary";
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            if (parts[0] != "protocol" || parts.Length != 2 || parts[1] is not ("binary" or "http"))
            {
                throw new ArgumentException($"HeavyDB URL option '{parts[0]}' not understood: only protocol=binary|http");
            }

            protocol = parts[1];
        }

        var credentials = uri.UserInfo.Split(':', 2);
        var user = credentials[0].Length > 0 ? Uri.UnescapeDataString(credentials[0]) : "admin";
        var password = credentials.Length > 1 ? Uri.UnescapeDataString(credentials[1]) : "HyperInteractive";
        var database = uri.AbsolutePath.Trim('/') is { Length: > 0 } db ? db : "heavyai";
        var port = uri.IsDefaultPort || uri.Port < 0 ? (protocol == "http" ? 6278 : 6274) : uri.Port;
        return new HeavyDbConnection(uri.Host, port, user, password, database, protocol);
    }

    /// <summary>The URL with the password replaced by ***.</summary>
    public override string ToString() => $"heavydb://{User}:***@{Host}:{Port}/{Database}?protocol={Protocol}";
}
