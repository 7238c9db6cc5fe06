using System.Security.Cryptography;

namespace Sidecars.LocalCluster;

/// <summary>The key pair the apiserver verifies and the controller-manager signs service-account tokens with.</summary>
internal static class ServiceAccountKeys
{
    public static (string PrivateKeyPem, string PublicKeyPem) Create()
    {
        using var rsa = RSA.Create(2048);
        return (rsa.ExportRSAPrivateKeyPem(), rsa.ExportSubjectPublicKeyInfoPem());
    }
}
