using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.AgentLifecycle;

/// <summary>Server certificate validation against private roots: the name must match and the chain end in one of them.</summary>
public static class PrivateRootTrust
{
    public static bool IsTrusted(X509Certificate2? certificate, SslPolicyErrors errors, X509Certificate2Collection roots) =>
        Check(certificate, errors, roots) is null;

    /// <summary>Null when the certificate is trusted; otherwise why not, naming the certificate.</summary>
    public static string? Check(X509Certificate2? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        if (certificate is null)
        {
            return "the server sent no certificate";
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != SslPolicyErrors.None)
        {
            return $"certificate '{certificate.Subject}' does not name the address connected to";
        }

        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return $"certificate '{certificate.Subject}' was refused: {errors}";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (chain.Build(certificate))
        {
            return null;
        }

        var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
        return $"certificate '{certificate.Subject}' issued by '{certificate.Issuer}' does not chain to a trusted CA ({status})";
    }
}
