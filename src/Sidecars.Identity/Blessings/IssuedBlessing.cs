using System.Security.Cryptography.X509Certificates;

namespace Sidecars.Identity.Blessings;

/// <summary>A blessing chain as issued: leaf first, the root last, as DER.</summary>
public sealed record IssuedBlessing(string Name, IReadOnlyList<byte[]> Chain, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    public X509Certificate2 LoadLeaf() => X509CertificateLoader.LoadCertificate(Chain[0]);
}
