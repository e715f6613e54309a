using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Silo.Security;

/// <summary>
/// The cluster's certificates, made with .NET's own cryptography (no openssl): a CA (<c>ca.pem</c>, public; its key
/// <c>ca-key.pem</c>, private), one silo certificate every silo holds (<c>silo.pfx</c>, OU silo), and one client
/// certificate per person with their role in the OU (<c>operator-NAME.pfx</c>, <c>submitter-NAME.pfx</c>). Private files
/// are written mode 600. Running it again on the same folder keeps the CA and adds (or renews) the names given.
/// </summary>
public static class ClusterCertificates
{
    /// <summary>The CA's certificate, public: clients and silos trust what it issued.</summary>
    public const string AuthorityFile = "ca.pem";

    /// <summary>The CA's private key: keep it off the silos; it is only needed to issue more certificates.</summary>
    public const string AuthorityKeyFile = "ca-key.pem";

    /// <summary>The certificate and key every silo presents.</summary>
    public const string SiloFile = "silo.pfx";

    private const string Organisation = "heavy-optimizer";

    /// <summary>Creates (or reuses) the CA in <paramref name="directory"/> and issues the silo and client certificates; returns the files written.</summary>
    public static IReadOnlyList<string> Init(string directory, IEnumerable<string> operators, IEnumerable<string> submitters, TimeSpan? validity = null)
    {
        ArgumentNullException.ThrowIfNull(operators);
        ArgumentNullException.ThrowIfNull(submitters);
        Directory.CreateDirectory(directory);
        var lifetime = validity ?? TimeSpan.FromDays(365);
        var written = new List<string>();
        var caPath = Path.Combine(directory, AuthorityFile);
        var caKeyPath = Path.Combine(directory, AuthorityKeyFile);
        using var authority = File.Exists(caPath) && File.Exists(caKeyPath) ? LoadAuthorityWithKey(caPath, caKeyPath) : NewAuthority(caPath, caKeyPath, written);
        var silo = Path.Combine(directory, SiloFile);
        if (!File.Exists(silo))
        {
            Issue(authority, "silo", CallerProof.SiloUnit, silo, lifetime, server: true);
            written.Add(silo);
        }

        var units = new[] { (Names: operators.ToList(), Unit: "operator"), (Names: submitters.ToList(), Unit: "submitter") };
        foreach (var (names, unit) in units)
        {
            foreach (var name in names)
            {
                if (!ValidName(name))
                {
                    throw new ArgumentException($"'{name}': a person's name is 1..64 of A-Z a-z 0-9 . _ -");
                }

                if (Reserved.Contains(name))
                {
                    throw new ArgumentException($"'{name}': reserved (the audit uses it for the cluster itself); choose a person's name");
                }

                var other = units.First(u => u.Unit != unit);
                if (other.Names.Contains(name, StringComparer.OrdinalIgnoreCase) || File.Exists(Path.Combine(directory, $"{other.Unit}-{name}.pfx")))
                {
                    throw new ArgumentException($"'{name}' is already a {other.Unit} name: one name, one role (the audit could not tell them apart)");
                }

                var path = Path.Combine(directory, $"{unit}-{name}.pfx");
                Issue(authority, name, unit, path, lifetime, server: false);
                written.Add(path);
            }
        }

        return written;
    }

    /// <summary>The CA certificate at <paramref name="path"/> (public, any mode).</summary>
    /// <summary>The CA certificate at <paramref name="path"/>: public, but only its owner may change it (whoever can replace it decides whom the silo trusts).</summary>
    public static X509Certificate2 LoadAuthority(string path)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"CA certificate {path}: no such file");
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new ArgumentException($"CA certificate {path} can be changed by others (mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}): chmod 644 {path}");
        }

        return X509CertificateLoader.LoadCertificateFromFile(path);
    }

    /// <summary>An identity (certificate and private key) from a PKCS#12 file that only its owner can read.</summary>
    public static X509Certificate2 LoadIdentity(string path)
    {
        SecretFiles.CheckPrivate(path, "identity");
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password: null, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"identity {path} is not a certificate with its key (PKCS#12): {e.Message}", e);
        }
    }

    /// <summary>Names the audit and the filter use for the cluster itself, which no person's certificate may carry.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "controller", "silo", "unknown", "unauthenticated", "unverified", "system",
    };

    private static bool ValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') && name.Trim('.').Length > 0;

    private static X509Certificate2 NewAuthority(string caPath, string caKeyPath, List<string> written)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=heavy-optimizer CA, O={Organisation}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var authority = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        File.WriteAllText(caPath, authority.ExportCertificatePem());
        SecretFiles.WritePrivate(caKeyPath, Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
        written.Add(caPath);
        written.Add(caKeyPath);
        return authority;
    }

    private static X509Certificate2 LoadAuthorityWithKey(string caPath, string caKeyPath)
    {
        SecretFiles.CheckPrivate(caKeyPath, "CA key");
        return X509Certificate2.CreateFromPemFile(caPath, caKeyPath);
    }

    private static void Issue(X509Certificate2 authority, string name, string unit, string path, TimeSpan lifetime, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, OU={unit}, O={Organisation}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        // Silos are servers to clients and to each other, and clients of each other.
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            server ? [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")] : [new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddDnsName(Environment.MachineName);
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(authority, now.AddMinutes(-5), Min(now + lifetime, authority.NotAfter.AddMinutes(-1)), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        SecretFiles.WritePrivate(path, withKey.Export(X509ContentType.Pkcs12));
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
