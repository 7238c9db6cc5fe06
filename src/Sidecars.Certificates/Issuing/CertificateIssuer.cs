using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.Certificates.Issuing;

/// <summary>A certificate and its private key, as PEM.</summary>
public sealed record PemPair(string CertificatePem, string KeyPem)
{
    public X509Certificate2 Load() => X509Certificate2.CreateFromPem(CertificatePem, KeyPem);
}

/// <summary>Makes the webhook's CA and short-lived serving certificates (ECDSA P-256). Pure apart from randomness.</summary>
public static class CertificateIssuer
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthenticationUsage = "1.3.6.1.5.5.7.3.2";

    /// <summary>Whether the certificate may authenticate a TLS client (extended key usage clientAuth).</summary>
    public static bool AllowsClientAuthentication(PemPair pair)
    {
        using var certificate = X509Certificate2.CreateFromPem(pair.CertificatePem);
        return certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .Any(e => e.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == ClientAuthenticationUsage));
    }

    public static PemPair CreateAuthority(string commonName, DateTimeOffset notBefore, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var certificate = request.CreateSelfSigned(notBefore, notBefore + lifetime);
        return new PemPair(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    public static PemPair IssueServing(PemPair authority, IReadOnlyCollection<string> dnsNames, IReadOnlyCollection<IPAddress> addresses, DateTimeOffset notBefore, TimeSpan lifetime, bool clientAuthentication = false)
    {
        ArgumentOutOfRangeException.ThrowIfZero(dnsNames.Count + addresses.Count, nameof(dnsNames));
        using var issuer = authority.Load();
        var notAfter = notBefore + lifetime;
        if (notAfter > issuer.NotAfter)
        {
            notAfter = issuer.NotAfter;
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames.FirstOrDefault() ?? addresses.First().ToString()}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(san.Build(true));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection { new Oid(ServerAuthentication) };
        if (clientAuthentication)
        {
            usages.Add(new Oid(ClientAuthenticationUsage));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var certificate = request.Create(issuer, notBefore, notAfter, serial);
        return new PemPair(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>The CA certificates of a PEM bundle that are still valid at <paramref name="now"/>.</summary>
    public static IReadOnlyList<X509Certificate2> ValidAuthorities(string bundlePem, DateTimeOffset now)
    {
        var collection = new X509Certificate2Collection();
        if (!string.IsNullOrWhiteSpace(bundlePem))
        {
            collection.ImportFromPem(bundlePem);
        }

        return collection.Where(c => c.NotAfter.ToUniversalTime() > now.UtcDateTime).ToList();
    }

    public static string ToBundle(IEnumerable<X509Certificate2> certificates)
        => string.Concat(certificates.DistinctBy(c => c.Thumbprint).Select(c => c.ExportCertificatePem() + "\n"));
}
