using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Conventions;

namespace Sidecars.Testing.Tokens;

/// <summary>
/// PEM files for the pod-agent's token port: the CA bundle pod-agents trust, the cluster agent's client certificate
/// (<see cref="SidecarsNames.TokenReaderName"/>, client authentication) and two that must be refused: one from the same CA
/// for another name, one with the right name from another CA.
/// </summary>
public sealed class TokenReaderPki
{
    public TokenReaderPki(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        Directory = directory;
        using var ca = CreateCa("sidecars-cluster-agent-ca");
        using var foreignCa = CreateCa("someone-else-ca");
        File.WriteAllText(CaFile, ca.ExportCertificatePem());
        Reader = Write("reader", Issue(ca, SidecarsNames.TokenReaderName));
        WrongName = Write("wrong-name", Issue(ca, "sidecars-webhook.sidecars-system.svc"));
        ForeignCa = Write("foreign-ca", Issue(foreignCa, SidecarsNames.TokenReaderName));
    }

    public string Directory { get; }

    /// <summary>The CA bundle the pod-agent is given (<c>--token-reader-ca</c>).</summary>
    public string CaFile => Path.Combine(Directory, "ca.crt");

    public (string Certificate, string Key) Reader { get; }

    public (string Certificate, string Key) WrongName { get; }

    public (string Certificate, string Key) ForeignCa { get; }

    /// <summary>An HTTPS client for a token port presenting <paramref name="client"/> (none when null); it accepts the pod-agent's self-signed certificate.</summary>
    public static HttpClient Client((string Certificate, string Key)? client)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null;
        if (client is { } pair)
        {
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(pair.Certificate, pair.Key)];
        }

        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
    }

    private (string Certificate, string Key) Write(string name, X509Certificate2 certificate)
    {
        using (certificate)
        {
            var paths = (Path.Combine(Directory, name + ".crt"), Path.Combine(Directory, name + ".key"));
            File.WriteAllText(paths.Item1, certificate.ExportCertificatePem());
            File.WriteAllText(paths.Item2, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            return paths;
        }
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + dnsName, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(12));
        return issued.CopyWithPrivateKey(key);
    }
}
