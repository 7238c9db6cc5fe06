using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.PodAgent.Tokens;

/// <summary>
/// The token port's serving certificate: self-signed, made at start with a key that never leaves the process. The
/// reader authenticates itself with its client certificate; TLS keeps the token and that proof off the wire. A reader
/// cannot verify this certificate, and needs not to: a party in the middle learns nothing it could replay (the client
/// certificate signs only its own handshake), it could at most answer a wrong token.
/// </summary>
internal static class TokenServerCertificate
{
    public static X509Certificate2 Create(string podIp)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sidecars-pod-agent", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(podIp, out var address))
        {
            names.AddIpAddress(address);
        }

        names.AddDnsName("sidecars-pod-agent");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
    }
}
