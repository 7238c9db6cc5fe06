using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Sidecars.AgentLifecycle;

namespace Sidecars.Identity.Admin;

/// <summary>
/// Makes and uses admin credentials: a CA for admin client certificates (its PEM is the cluster agent's
/// <see cref="IdentityOptions.AdminClientCaFile"/>), client and server certificates issued by it, and gRPC
/// channels that present a client certificate and trust given server roots. Tests of every service use it.
/// </summary>
public static class AdminCredentials
{
    public static X509Certificate2 CreateCertificateAuthority(string name = "sidecars-admin-ca", TimeSpan? validity = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now + (validity ?? TimeSpan.FromDays(365)));
    }

    /// <summary>A client certificate for <paramref name="user"/> (the admin's name is its CN).</summary>
    public static X509Certificate2 IssueClientCertificate(X509Certificate2 authority, string user, TimeSpan? validity = null) =>
        Issue(authority, user, [], BlessingOid.ClientAuth, validity);

    /// <summary>A TLS server certificate for the given DNS names and IP addresses.</summary>
    public static X509Certificate2 IssueServerCertificate(X509Certificate2 authority, params string[] hosts) =>
        Issue(authority, hosts.FirstOrDefault() ?? "localhost", hosts, BlessingOid.ServerAuth, null);

    public static X509Certificate2 LoadPem(string certificatePath, string keyPath)
    {
        using var loaded = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

        // Round-trip through PKCS#12 so the key is usable by TLS on every platform.
        return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }

    public static string ExportCertificatePem(X509Certificate2 certificate) => certificate.ExportCertificatePem();

    public static string ExportPrivateKeyPem(X509Certificate2 certificate) =>
        (certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the certificate has no ECDSA private key")).ExportPkcs8PrivateKeyPem();

    /// <summary>An HTTP/2 handler presenting <paramref name="clientCertificate"/> and trusting <paramref name="serverRoots"/>.</summary>
    public static SocketsHttpHandler CreateHandler(X509Certificate2? clientCertificate, X509Certificate2Collection? serverRoots)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, null);
        }

        if (serverRoots is { Count: > 0 })
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                PrivateRootTrust.IsTrusted(certificate as X509Certificate2, errors, serverRoots);
        }

        return handler;
    }

    public static GrpcChannel CreateChannel(string address, X509Certificate2? clientCertificate = null, X509Certificate2Collection? serverRoots = null) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = CreateHandler(clientCertificate, serverRoots), DisposeHttpClient = true });

    private static X509Certificate2 Issue(X509Certificate2 authority, string commonName, string[] hosts, string usage, TimeSpan? validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (hosts.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var host in hosts)
            {
                if (IPAddress.TryParse(host, out var address))
                {
                    san.AddIpAddress(address);
                }
                else
                {
                    san.AddDnsName(host);
                }
            }

            request.CertificateExtensions.Add(san.Build());
        }

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + (validity ?? TimeSpan.FromDays(30));
        if (notAfter > authority.NotAfter)
        {
            notAfter = authority.NotAfter;
        }

        using var issued = request.Create(authority, now.AddMinutes(-5), notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private static class BlessingOid
    {
        public const string ServerAuth = Blessings.BlessingCertificates.ServerAuthOid;
        public const string ClientAuth = Blessings.BlessingCertificates.ClientAuthOid;
    }
}
