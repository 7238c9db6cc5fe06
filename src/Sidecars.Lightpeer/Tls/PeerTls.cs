using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Conventions;

namespace Sidecars.Lightpeer;

/// <summary>One consistent set of peer credentials: the certificate (with its key) presented, and the network CAs trusted.</summary>
public sealed class PeerTlsMaterial(X509Certificate2 certificate, X509Certificate2Collection authorities)
{
    public X509Certificate2 Certificate { get; } = certificate;

    public X509Certificate2Collection Authorities { get; } = authorities;
}

/// <summary>
/// Mutual TLS between lightpeers and with the network controller: every side presents a certificate issued by the
/// network CA and accepts only certificates chaining to it. Names are not checked on the server side of a connection
/// (peers are dialled by IP and one certificate serves a namespace's peers); what a caller may do is decided by the
/// names in its client certificate (<see cref="PeerAuthorization"/>). <see cref="Current"/> is asked for every new
/// connection, so rotated material applies without a restart.
/// </summary>
public abstract class PeerTls
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>The material in force; null while there is none (every handshake then fails).</summary>
    public abstract PeerTlsMaterial? Current { get; }

    /// <summary>TLS of an outgoing connection: our certificate as client certificate, the server checked against the network CAs.</summary>
    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Current?.Certificate!,
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            Current is { } material && Check(certificate as X509Certificate2, material.Authorities, ServerAuthentication) is null,
    };

    /// <summary>Null when <paramref name="client"/> chains to the network CAs and allows client authentication; otherwise why not.</summary>
    public static string? CheckClient(X509Certificate2? client, PeerTlsMaterial material)
    {
        ArgumentNullException.ThrowIfNull(material);
        return client is null
            ? "a client certificate issued by the network CA is required"
            : Check(client, material.Authorities, ClientAuthentication);
    }

    /// <summary>Whether the certificate names the network controller (<see cref="SidecarsNames.NetworkControllerName"/>).</summary>
    public static bool IsController(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.MatchesHostname(SidecarsNames.NetworkControllerName, allowWildcards: false, allowCommonName: false);
    }

    /// <summary>The DNS names a certificate carries, for messages.</summary>
    public static string NamesOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).ToList();
        return names.Count == 0 ? certificate.Subject : string.Join(", ", names);
    }

    private static string? Check(X509Certificate2? certificate, X509Certificate2Collection authorities, Oid usage)
    {
        if (certificate is null)
        {
            return "no certificate was presented";
        }

        if (authorities.Count == 0)
        {
            return "no network CA is trusted yet";
        }

        using var chain = new X509Chain();
        try
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.DisableCertificateDownloads = true;
            chain.ChainPolicy.ApplicationPolicy.Add(usage);
            if (chain.Build(certificate))
            {
                return null;
            }

            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
            return $"certificate '{certificate.Subject}' issued by '{certificate.Issuer}' is not a network certificate ({status})";
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }
}
