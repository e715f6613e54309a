using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace HeavyOptimizer.Abstractions;

/// <summary>What a caller may do: submitters submit and read; operators also change the migration; silos do anything.</summary>
public enum Role
{
    /// <summary>May submit jobs, follow them, cancel its own, and read status.</summary>
    Submitter = 0,

    /// <summary>May also change the migration (phase, traffic, validation, backends, checkpoints, rollback, import, replay).</summary>
    Operator = 1,

    /// <summary>A silo of the cluster.</summary>
    Silo = 2,
}

/// <summary>A verified caller: the name and role its certificate carries (CN and OU).</summary>
public sealed record Caller(string Name, Role Role)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Role.ToString().ToLowerInvariant()})";
}

/// <summary>
/// The proof a call carries of who makes it, which a caller without the private key cannot forge: the caller's
/// certificate (issued by the cluster's CA, its role in the OU) and its signature over the target grain, the method and
/// the time. Clients sign every call with their identity's key; silos sign their own calls with a key derived from the
/// silo certificate's private key, which only silos hold. The silo's incoming call filter verifies the proof and
/// authorises the call by role; a grain reads the verified caller with <see cref="Current"/>.
/// </summary>
public static class CallerProof
{
    /// <summary>The request-context key of the proof a call carries.</summary>
    public const string ProofKey = "hopt.proof";

    /// <summary>The request-context key under which the silo puts the verified caller ("role:name").</summary>
    public const string CallerKey = "hopt.caller";

    /// <summary>The OU of a silo certificate.</summary>
    public const string SiloUnit = "silo";

    /// <summary>How far a proof's time may be from the silo's clock.</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    private static readonly ConcurrentDictionary<string, (X509Certificate2 Certificate, Caller Caller)> Verified = new(StringComparer.Ordinal);

    /// <summary>The verified caller of the call being handled (set by the silo's filter), or null when the cluster runs without identities.</summary>
    public static Caller? Current => RequestContext.Get(CallerKey) is string text && text.Split(':', 2) is [var role, var name] && Enum.TryParse<Role>(role, out var r)
        ? new Caller(name, r)
        : null;

    /// <summary>The role a certificate's OU names; null when it names none.</summary>
    public static Role? RoleOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var unit = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .FirstOrDefault(n => n.GetSingleElementType().Value == "2.5.4.11")?.GetSingleElementValue();
        return unit switch
        {
            "operator" => Role.Operator,
            "submitter" => Role.Submitter,
            SiloUnit => Role.Silo,
            _ => null,
        };
    }

    /// <summary>
    /// The name a proof signs for a call's target: the grain id, or for one of Orleans' system targets its type alone
    /// (a client addresses the gateway's system target before the gateway fills in its silo).
    /// </summary>
    public static string TargetOf(GrainId target) => target.IsSystemTarget() ? target.Type.ToString()! : target.ToString();

    /// <summary>A client's proof for calling <paramref name="method"/> on <paramref name="grain"/>, signed with its identity's key.</summary>
    public static string Sign(X509Certificate2 identity, string grain, string method, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var stamp = at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var payload = Encoding.UTF8.GetBytes($"{grain}\n{method}\n{stamp}");
        using var key = identity.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"the identity {identity.Subject} has no ECDSA private key");
        return $"c.{Convert.ToBase64String(identity.RawData)}.{stamp}.{Convert.ToBase64String(key.SignData(payload, HashAlgorithmName.SHA256))}";
    }

    /// <summary>A silo's proof: an HMAC with <paramref name="siloKey"/> (see <see cref="SiloKey"/>).</summary>
    public static string SignAsSilo(byte[] siloKey, string grain, string method, DateTimeOffset at)
    {
        var stamp = at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        return $"s.{stamp}.{Convert.ToBase64String(HMACSHA256.HashData(siloKey, Encoding.UTF8.GetBytes($"{grain}\n{method}\n{stamp}")))}";
    }

    /// <summary>The key silos sign their calls with: derived from the silo certificate's private key, which every silo holds and no client does.</summary>
    public static byte[] SiloKey(X509Certificate2 silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        using var key = silo.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"the silo certificate {silo.Subject} has no ECDSA private key");
        return SHA256.HashData([.. "hopt-silo-calls"u8, .. key.ExportPkcs8PrivateKey()]);
    }

    /// <summary>
    /// Who made a call from its <paramref name="proof"/>: a certificate issued by <paramref name="authority"/> with a
    /// role, whose signature covers this grain, this method and a time within <see cref="Skew"/> of
    /// <paramref name="now"/>; or the silo key's HMAC. Throws <see cref="AccessDeniedException"/> saying what is wrong.
    /// </summary>
    public static Caller Verify(string? proof, X509Certificate2 authority, byte[] siloKey, string grain, string method, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(authority);
        var parts = (proof ?? string.Empty).Split('.');
        if (parts is ["s", var siloStamp, var mac])
        {
            Fresh(siloStamp, now);
            var expected = SignAsSilo(siloKey, grain, method, DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(siloStamp, CultureInfo.InvariantCulture)));
            return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes($"s.{siloStamp}.{mac}"))
                ? new Caller("silo", Role.Silo)
                : throw new AccessDeniedException("a call signed as a silo with another key");
        }

        if (parts is not ["c", var der, var stamp, var signature])
        {
            throw new AccessDeniedException("the call carries no proof of identity: connect with an identity certificate (--identity or HOPT_IDENTITY)");
        }

        Fresh(stamp, now);
        var (certificate, caller) = Verified.TryGetValue(der, out var known) ? known : Trust(der, authority);
        if (now < certificate.NotBefore || now > certificate.NotAfter)
        {
            Verified.TryRemove(der, out _);
            throw new AccessDeniedException($"{caller}: the certificate is not valid now (valid {certificate.NotBefore:u} to {certificate.NotAfter:u})");
        }

        using var key = certificate.GetECDsaPublicKey() ?? throw new AccessDeniedException("the identity's key is not ECDSA");
        return key.VerifyData(Encoding.UTF8.GetBytes($"{grain}\n{method}\n{stamp}"), Convert.FromBase64String(signature), HashAlgorithmName.SHA256)
            ? caller
            : throw new AccessDeniedException($"{caller}: the call's signature does not match it");
    }

    private static void Fresh(string stamp, DateTimeOffset now)
    {
        if (!long.TryParse(stamp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) || (now - DateTimeOffset.FromUnixTimeMilliseconds(ms)).Duration() > Skew)
        {
            throw new AccessDeniedException($"the call's proof is not fresh (more than {Skew.TotalMinutes} minutes from the silo's clock)");
        }
    }

    private static (X509Certificate2, Caller) Trust(string der, X509Certificate2 authority)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(der));
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new AccessDeniedException("the call's certificate cannot be read");
        }

        if (!IssuedBy(certificate, authority, out var problem))
        {
            throw new AccessDeniedException($"{certificate.Subject}: {problem}");
        }

        var role = RoleOf(certificate);
        if (role is not (Role.Operator or Role.Submitter))
        {
            throw new AccessDeniedException($"{certificate.Subject} names no client role (OU operator or submitter)");
        }

        var caller = new Caller(certificate.GetNameInfo(X509NameType.SimpleName, false), role.Value);
        if (Verified.Count > 1000)
        {
            Verified.Clear();
        }

        Verified[der] = (certificate, caller);
        return (certificate, caller);
    }

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="authority"/> alone and is within its validity; <paramref name="problem"/> says why not.</summary>
    public static bool IssuedBy(X509Certificate2 certificate, X509Certificate2 authority, out string problem)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authority);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (!chain.Build(certificate))
        {
            problem = "not issued by this cluster's CA (" + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct()) + ")";
            return false;
        }

        problem = string.Empty;
        return true;
    }
}

/// <summary>A call its caller may not make, or whose caller could not be verified; the message says who, what and why.</summary>
[GenerateSerializer]
[Alias("hopt.AccessDeniedException")]
public sealed class AccessDeniedException : Exception
{
    /// <summary>Creates the refusal.</summary>
    public AccessDeniedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the refusal with its cause.</summary>
    public AccessDeniedException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>For serializers.</summary>
    public AccessDeniedException()
    {
    }
}
