namespace HeavyOptimizer.Backends.HeavyDb;

/// <summary>
/// Where a HeavyDB server is: <c>heavydb://user:password@host:6274/db?protocol=binary|http&amp;connect_timeout=S&amp;timeout=S</c>.
/// Defaults are HeavyDB's own (admin / HyperInteractive / heavyai; 6274 binary, 6278 HTTP); <c>connect_timeout</c>
/// (default 10 s) bounds opening a connection, <c>timeout</c> (default 600 s, enough to load a 25,544-strategy file
/// and run its metrics query) bounds each call. <see cref="ToString"/> never shows the password.
/// </summary>
public sealed record HeavyDbConnection(string Host, int Port, string User, string Password, string Database, string Protocol)
{
    /// <summary>How long opening a connection may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one call may take.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>The environment variable read when no URL is given.</summary>
    public const string EnvironmentVariable = "HEAVYDB_URL";

    /// <summary>Parses a heavydb:// URL; throws <see cref="ArgumentException"/> naming what is wrong (never the password).</summary>
    public static HeavyDbConnection Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "heavydb" || string.IsNullOrEmpty(uri.Host) || uri.Fragment.Length > 0)
        {
            throw new ArgumentException("HeavyDB URL must look like heavydb://user:password@host:6274/db?protocol=binary|http (or 'embedded')");
        }

        if (!uri.IsDefaultPort && uri.Port is < 1 or > 65535)
        {
            throw new ArgumentException($"HeavyDB URL port {uri.Port}: 1..65535");
        }

        var protocol = "binary";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var (connect, call) = (TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(600));
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            var value = parts.Length == 2 ? parts[1] : string.Empty;
            if (!seen.Add(parts[0]))
            {
                throw new ArgumentException($"HeavyDB URL option '{parts[0]}' is given twice");
            }

            switch (parts[0])
            {
                case "protocol" when value is "binary" or "http":
                    protocol = value;
                    break;
                case "connect_timeout":
                    connect = Seconds("connect_timeout", value);
                    break;
                case "timeout":
                    call = Seconds("timeout", value);
                    break;
                default:
                    throw new ArgumentException($"HeavyDB URL option '{parts[0]}' not understood: protocol=binary|http, connect_timeout=SECONDS, timeout=SECONDS");
            }
        }

        var credentials = uri.UserInfo.Split(':', 2);
        var user = credentials[0].Length > 0 ? Uri.UnescapeDataString(credentials[0]) : "admin";
        var password = credentials.Length > 1 ? Uri.UnescapeDataString(credentials[1]) : "HyperInteractive";
        var database = uri.AbsolutePath.Trim('/') is { Length: > 0 } db ? db : "heavyai";
        var port = uri.IsDefaultPort || uri.Port < 0 ? (protocol == "http" ? 6278 : 6274) : uri.Port;
        return new HeavyDbConnection(uri.Host, port, user, password, database, protocol) { ConnectTimeout = connect, CallTimeout = call };
    }

    private static TimeSpan Seconds(string option, string value) =>
        double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"HeavyDB URL option {option}={value}: seconds, more than 0 and at most 86400");

    /// <summary>The URL with the password replaced by ***.</summary>
    public override string ToString() => $"heavydb://{User}:***@{Host}:{Port}/{Database}?protocol={Protocol}";
}
