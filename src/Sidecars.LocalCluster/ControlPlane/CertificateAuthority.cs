using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.LocalCluster;

/// <summary>A PEM certificate and its private key.</summary>
public sealed record PemKeyPair(string CertificatePem, string PrivateKeyPem);

/// <summary>A throwaway certificate authority that issues loopback serving certificates.</summary>
public sealed class CertificateAuthority : IDisposable
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromHours(1);

    private readonly X509Certificate2 _certificate;

    private CertificateAuthority(X509Certificate2 certificate, string privateKeyPem)
    {
        _certificate = certificate;
        CertificatePem = certificate.ExportCertificatePem();
        PrivateKeyPem = privateKeyPem;
    }

    public string CertificatePem { get; }

    public string PrivateKeyPem { get; }

    public static CertificateAuthority Create(string commonName, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now - ClockSkew, now + lifetime);
        return new CertificateAuthority(certificate, key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// A certificate for <paramref name="hosts"/> (DNS names or IP addresses) usable for serving and as a client,
    /// signed by this authority.
    /// </summary>
    public PemKeyPair Issue(string commonName, IEnumerable<string> hosts, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts)
        {
            if (IPAddress.TryParse(host, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false));

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + lifetime < _certificate.NotAfter ? now + lifetime : new DateTimeOffset(_certificate.NotAfter);
        using var certificate = request.Create(_certificate, now - ClockSkew, notAfter, serial);
        return new PemKeyPair(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Whether <paramref name="certificate"/> chains to this authority (for HTTPS clients on loopback).</summary>
    public bool Validates(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    public void Dispose() => _certificate.Dispose();
}
