using System.Net;

namespace Sidecars.Webhook.Tls;

/// <summary>What the rotator keeps in its Secret.</summary>
public sealed record TlsMaterial(PemPair? Authority, PemPair? Serving, string Bundle)
{
    public const string AuthorityCertificateKey = "ca.crt";
    public const string AuthorityKeyKey = "ca.key";
    public const string ServingCertificateKey = "tls.crt";
    public const string ServingKeyKey = "tls.key";
    public const string BundleKey = "ca-bundle.crt";

    public static TlsMaterial Empty { get; } = new(null, null, string.Empty);

    public static TlsMaterial FromData(IDictionary<string, byte[]>? data)
    {
        string? Get(string key) => data is not null && data.TryGetValue(key, out var v) ? System.Text.Encoding.UTF8.GetString(v) : null;
        var ca = Get(AuthorityCertificateKey) is { } caCert && Get(AuthorityKeyKey) is { } caKey ? new PemPair(caCert, caKey) : null;
        var serving = Get(ServingCertificateKey) is { } cert && Get(ServingKeyKey) is { } key ? new PemPair(cert, key) : null;
        return new TlsMaterial(ca, serving, Get(BundleKey) ?? string.Empty);
    }

    public Dictionary<string, byte[]> ToData()
    {
        var data = new Dictionary<string, byte[]> { [BundleKey] = System.Text.Encoding.UTF8.GetBytes(Bundle) };
        if (Authority is not null)
        {
            data[AuthorityCertificateKey] = System.Text.Encoding.UTF8.GetBytes(Authority.CertificatePem);
            data[AuthorityKeyKey] = System.Text.Encoding.UTF8.GetBytes(Authority.KeyPem);
        }

        if (Serving is not null)
        {
            data[ServingCertificateKey] = System.Text.Encoding.UTF8.GetBytes(Serving.CertificatePem);
            data[ServingKeyKey] = System.Text.Encoding.UTF8.GetBytes(Serving.KeyPem);
        }

        return data;
    }
}

/// <summary>
/// Decides the next TLS material from the current one and the time: a new CA before the old one runs out (both stay in
/// the bundle so clients trust either during rollover), a new serving certificate before it runs out or when its CA changed.
/// </summary>
public static class RotationPlanner
{
    public static TlsMaterial Plan(TlsMaterial current, DateTimeOffset now, RotationOptions options)
    {
        var authority = current.Authority;
        var authorityChanged = false;
        if (authority is null || RemainingOf(authority, now) < options.AuthorityRenewBefore)
        {
            authority = CertificateIssuer.CreateAuthority("sidecars-webhook-ca", now.AddMinutes(-5), options.AuthorityLifetime);
            authorityChanged = true;
        }

        var serving = current.Serving;
        if (serving is null || authorityChanged || RemainingOf(serving, now) < options.ServingRenewBefore || !IssuedBy(serving, authority))
        {
            var addresses = options.IpAddresses.Select(IPAddress.Parse).ToArray();
            serving = CertificateIssuer.IssueServing(authority, options.DnsNames, addresses, now.AddMinutes(-5), options.ServingLifetime);
        }

        using var authorityCertificate = authority.Load();
        var valid = CertificateIssuer.ValidAuthorities(current.Bundle, now).Append(authorityCertificate);
        var bundle = CertificateIssuer.ToBundle(valid);
        return new TlsMaterial(authority, serving, bundle);
    }

    public static TimeSpan RemainingOf(PemPair pair, DateTimeOffset now)
    {
        using var certificate = pair.Load();
        return certificate.NotAfter.ToUniversalTime() - now.UtcDateTime;
    }

    private static bool IssuedBy(PemPair serving, PemPair authority)
    {
        using var leaf = serving.Load();
        using var ca = authority.Load();
        return leaf.Issuer == ca.Subject && leaf.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509AuthorityKeyIdentifierExtension>()
            .Select(e => e.KeyIdentifier?.ToArray())
            .FirstOrDefault() is { } aki
            && ca.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectKeyIdentifierExtension>()
                .Select(e => e.SubjectKeyIdentifierBytes.ToArray()).FirstOrDefault() is { } ski
            && aki.AsSpan().SequenceEqual(ski);
    }
}
