using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Sidecars.Certificates.Issuing;
using Sidecars.Conventions;

namespace Sidecars.Networks.Identity;

/// <summary>What a namespace's identity Secret should hold, and when to look at it again.</summary>
/// <param name="Data">The data to store; null when the Secret is right as it is.</param>
/// <param name="RenewAt">When its peer certificate becomes due.</param>
public sealed record PeerIdentityPlan(Dictionary<string, byte[]>? Data, DateTimeOffset RenewAt);

/// <summary>
/// Decides the Secret <see cref="SidecarsNames.LightpeerIdentitySecret"/> of one namespace: the network CA bundle as
/// <c>ca.crt</c>, and a peer certificate (client and server authentication) naming the namespace's peers
/// (<see cref="SidecarsNames.LightpeerPeerName"/>). The certificate is kept until it is due, while a CA of the bundle
/// issued it: a new CA reaches every pod through the bundle before any certificate it issued does. Pure apart from randomness.
/// </summary>
public static class PeerIdentityPlanner
{
    public static PeerIdentityPlan Plan(
        IDictionary<string, byte[]>? current, TlsMaterial network, string @namespace, DateTimeOffset now, ServingCertificatePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        var authority = network.Authority ?? throw new ArgumentException("the network CA material has no CA", nameof(network));
        var name = SidecarsNames.LightpeerPeerName(@namespace);
        var bundle = CertificateIssuer.ValidAuthorities(network.Bundle, now);
        var pair = Get(current, SidecarsNames.LightpeerCertificateKey) is { } cert && Get(current, SidecarsNames.LightpeerKeyKey) is { } key
            ? new PemPair(cert, key)
            : null;
        var keep = pair is not null && Usable(pair, name, bundle, now, policy);
        if (!keep)
        {
            pair = CertificateIssuer.IssueServing(authority, [name], [], now.AddMinutes(-5), policy.ServingLifetime, clientAuthentication: true);
        }

        var renewAt = RenewAt(pair!, policy);
        if (keep && Get(current, SidecarsNames.LightpeerCaKey) == network.Bundle)
        {
            return new PeerIdentityPlan(null, renewAt);
        }

        return new PeerIdentityPlan(
            new Dictionary<string, byte[]>(StringComparer.Ordinal)
            {
                [SidecarsNames.LightpeerCaKey] = Encoding.UTF8.GetBytes(network.Bundle),
                [SidecarsNames.LightpeerCertificateKey] = Encoding.UTF8.GetBytes(pair!.CertificatePem),
                [SidecarsNames.LightpeerKeyKey] = Encoding.UTF8.GetBytes(pair.KeyPem),
            },
            renewAt);
    }

    private static bool Usable(PemPair pair, string name, IReadOnlyList<X509Certificate2> bundle, DateTimeOffset now, ServingCertificatePolicy policy)
    {
        try
        {
            using var certificate = pair.Load();
            return certificate.MatchesHostname(name, allowWildcards: false, allowCommonName: false)
                && CertificateIssuer.AllowsClientAuthentication(pair)
                && certificate.NotBefore.ToUniversalTime() <= now.UtcDateTime
                && certificate.NotAfter.ToUniversalTime() - now.UtcDateTime >= policy.ServingRenewBefore
                && bundle.Any(ca => RotationPlanner.IssuedBy(pair, ca));
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static DateTimeOffset RenewAt(PemPair pair, ServingCertificatePolicy policy)
    {
        using var certificate = X509Certificate2.CreateFromPem(pair.CertificatePem);
        return new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero) - policy.ServingRenewBefore;
    }

    private static string? Get(IDictionary<string, byte[]>? data, string key) =>
        data is not null && data.TryGetValue(key, out var value) ? Encoding.UTF8.GetString(value) : null;
}
