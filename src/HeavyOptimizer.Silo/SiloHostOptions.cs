using HeavyOptimizer.Backends;

namespace HeavyOptimizer.Silo;

/// <summary>How <c>hopt silo</c> runs a silo.</summary>
public sealed record SiloHostOptions
{
    /// <summary>Silo-to-silo port; default 11111.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Client gateway port; default 30000.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>Port of the Orleans Dashboard, served at http://127.0.0.1:&lt;port&gt;/dashboard; default 8080.</summary>
    public int DashboardPort { get; init; } = 8080;

    /// <summary>Data root: the SQLite state database, the backends' stores, run output and logs. Default <see cref="DataDirectories.Default"/>.</summary>
    public string DataDirectory { get; init; } = DataDirectories.Default;

    /// <summary>GPU advertised in the silo's metadata: auto (detect through ILGPU), on, off.</summary>
    public string Gpu { get; init; } = "auto";

    /// <summary>HeavyDB engine for the heavydb backend: embedded or a heavydb:// URL (default HEAVYDB_URL, else embedded).</summary>
    public string? HeavyDbUrl { get; init; }

    /// <summary>Cluster mode: the PostgreSQL connection string holding membership, grain state and reminders; null: embedded (SQLite).</summary>
    public string? Postgres { get; init; }

    /// <summary>The address this silo advertises to the others in cluster mode; default 127.0.0.1.</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>Period of each unfinished job's watchdog reminder (how soon a job whose silo died resumes); default 1 minute.</summary>
    public TimeSpan Watchdog { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Folders jobs may read their input from besides <c>&lt;DataDirectory&gt;/input</c> (<c>--input-root</c>, repeatable).</summary>
    public IReadOnlyList<string> InputRoots { get; init; } = [];

    /// <summary>
    /// The folder <c>hopt certs init</c> wrote (<c>ca.pem</c> and <c>silo.pfx</c>): mutual TLS between silos and clients,
    /// every call signed and authorised by role. Cluster mode refuses to start without it unless <see cref="Insecure"/>.
    /// </summary>
    public string? CertificatesDirectory { get; init; }

    /// <summary>Run a cluster-mode silo without TLS and identities (logged as a warning, shown by status).</summary>
    public bool Insecure { get; init; }

    /// <summary>The address the dashboard listens on; default loopback (put a reverse proxy with authentication in front to expose it).</summary>
    public string DashboardAddress { get; init; } = "127.0.0.1";

    /// <summary>Jobs this silo runs at once (<c>--max-jobs</c>); null for the default from its cores and memory.</summary>
    public int? MaxJobs { get; init; }

    /// <summary>The legacy file-drop share this silo serves (<c>--share</c>); its input/ is an input root and its output/ the jobs' output.</summary>
    public string? Share { get; init; }

    /// <summary>An http(s) URL alerts are POSTed to as JSON (<c>--webhook</c>; overrides <c>Alerts:Webhook</c>); null: alerts are only logged.</summary>
    public string? Webhook { get; init; }

    /// <summary>The SQLite database holding grain state and reminders in embedded mode.</summary>
    public string StateDatabase => Path.Combine(DataDirectory, "cluster.db");
}
