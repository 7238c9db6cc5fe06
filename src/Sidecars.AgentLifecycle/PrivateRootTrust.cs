using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.AgentLifecycle;

/// <summary>Server certificate validation against private roots: the name must match and the chain end in one of them.</summary>
public static class PrivateRootTrust
{
    public static bool IsTrusted(X509Certificate2? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        return chain.Build(certificate);
    }
}
