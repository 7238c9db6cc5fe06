using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Lightpeer;

namespace Sidecars.Testing.Lightpeer;

/// <summary>Peer credentials taken from an identity Secret as the kubelet would mount it.</summary>
public sealed class FixedPeerTls(V1Secret secret) : PeerTls
{
    private readonly PeerTlsMaterial _material = Load(secret);

    public override PeerTlsMaterial? Current => _material;

    private static PeerTlsMaterial Load(V1Secret secret)
    {
        string Text(string key) => System.Text.Encoding.UTF8.GetString(secret.Data[key]);
        var authorities = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        authorities.ImportFromPem(Text(SidecarsNames.LightpeerCaKey));
        return new PeerTlsMaterial(
            System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(
                Text(SidecarsNames.LightpeerCertificateKey), Text(SidecarsNames.LightpeerKeyKey)),
            authorities);
    }
}
