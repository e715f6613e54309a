using System.Security.Cryptography.X509Certificates;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Security;

/// <summary>How a silo is secured: mutual TLS with the cluster's CA and a role for every caller, or (embedded, or <c>--insecure</c>) nothing.</summary>
public sealed class ClusterSecurity
{
    /// <summary>The CA whose certificates are trusted; null when the silo runs without identities.</summary>
    public X509Certificate2? Authority { get; init; }

    /// <summary>The key silos sign their own calls with (<see cref="CallerProof.SiloKey"/>).</summary>
    public byte[] SiloKey { get; init; } = [];

    /// <summary>True when the operator chose to run a cluster without TLS and roles (<c>--insecure</c>).</summary>
    public bool Insecure { get; init; }

    /// <summary>True when the CA's private key lies in the silo's certificate folder (warned at start).</summary>
    public bool AuthorityKeyOnSilo { get; init; }

    /// <summary>In words, for the start-up line and <c>hopt status</c>.</summary>
    public string Description => Authority is not null
        ? $"mutual TLS, callers identified by certificates of {Authority.Subject} (roles: operator, submitter)"
        : Insecure ? "INSECURE (--insecure): no TLS, no identities, anyone who reaches the gateway may change the migration"
        : "loopback only, no TLS or identities (embedded)";
}
