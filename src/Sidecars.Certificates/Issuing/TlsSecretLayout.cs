using Sidecars.Conventions;

namespace Sidecars.Certificates.Issuing;

/// <summary>The keys of a TLS Secret: the CA pair, the serving pair and the bundle of CAs clients trust.</summary>
public sealed record TlsSecretLayout(string AuthorityCertificate, string AuthorityKey, string ServingCertificate, string ServingKey, string Bundle)
{
    /// <summary>The webhook's Secret: the bundle lives apart from the current CA (it goes into the caBundle).</summary>
    public static TlsSecretLayout Webhook { get; } = new("ca.crt", "ca.key", "tls.crt", "tls.key", "ca-bundle.crt");

    /// <summary>
    /// The cluster agent's Secret: <c>ca.crt</c> is what clients trust, so it holds the bundle (old and new CA during a
    /// rollover); the issuing CA keeps its own keys.
    /// </summary>
    public static TlsSecretLayout ClusterAgent { get; } = new(
        "authority.crt", "authority.key", SidecarsNames.ClusterAgentTlsCertificateKey, SidecarsNames.ClusterAgentTlsKeyKey, SidecarsNames.ClusterAgentCaKey);
}
