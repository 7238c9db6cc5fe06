using System.Net;

namespace Sidecars.Certificates.Issuing;

/// <summary>What a rotator keeps in its Secret.</summary>
public sealed record TlsMaterial(PemPair? Authority, PemPair? Serving, string Bundle)
{
    public static TlsMaterial Empty { get; } = new(null, null, string.Empty);

    public static TlsMaterial FromData(IDictionary<string, byte[]>? data, TlsSecretLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        string? Get(string key) => data is not null && data.TryGetValue(key, out var v) ? System.Text.Encoding.UTF8.GetString(v) : null;
        var ca = Get(layout.AuthorityCertificate) is { } caCert && Get(layout.AuthorityKey) is { } caKey ? new PemPair(caCert, caKey) : null;
        var serving = Get(layout.ServingCertificate) is { } cert && Get(layout.ServingKey) is { } key ? new PemPair(cert, key) : null;
        return new TlsMaterial(ca, serving, Get(layout.Bundle) ?? string.Empty);
    }

    public Dictionary<string, byte[]> ToData(TlsSecretLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var data = new Dictionary<string, byte[]> { [layout.Bundle] = System.Text.Encoding.UTF8.GetBytes(Bundle) };
        if (Authority is not null)
        {
            data[layout.AuthorityCertificate] = System.Text.Encoding.UTF8.GetBytes(Authority.CertificatePem);
            data[layout.AuthorityKey] = System.Text.Encoding.UTF8.GetBytes(Authority.KeyPem);
        }

        if (Serving is not null)
        {
            data[layout.ServingCertificate] = System.Text.Encoding.UTF8.GetBytes(Serving.CertificatePem);
            data[layout.ServingKey] = System.Text.Encoding.UTF8.GetBytes(Serving.KeyPem);
        }

        return data;
    }

    /// <summary>Whether two materials would be stored alike.</summary>
    public bool SameAs(TlsMaterial other) => other is not null && Bundle == other.Bundle && Authority == other.Authority && Serving == other.Serving;
}

/// <summary>
/// Decides the next TLS material from the current one and the time: a new CA before the old one runs out (both stay in
/// the bundle so clients trust either during rollover), a new serving certificate before it runs out or when its CA changed.
/// </summary>
public static class RotationPlanner
{
    public static TlsMaterial Plan(TlsMaterial current, DateTimeOffset now, ServingCertificatePolicy options)
    {
        var authority = current.Authority;
        var authorityChanged = false;
        if (authority is null || RemainingOf(authority, now) < options.AuthorityRenewBefore)
        {
            authority = CertificateIssuer.CreateAuthority(options.AuthorityName, now.AddMinutes(-5), options.AuthorityLifetime);
            authorityChanged = true;
        }

        using var authorityCertificate = authority.Load();
        var valid = CertificateIssuer.ValidAuthorities(current.Bundle, now).Append(authorityCertificate).ToList();
        var bundle = CertificateIssuer.ToBundle(valid);
        var serving = current.Serving;
        var stale = options.ReissueWithAuthority
            ? authorityChanged || (serving is not null && !IssuedBy(serving, authorityCertificate))
            : serving is not null && !valid.Any(ca => IssuedBy(serving, ca));
        if (serving is null || stale || RemainingOf(serving, now) < options.ServingRenewBefore
            || options.ClientAuthentication != CertificateIssuer.AllowsClientAuthentication(serving))
        {
            var addresses = options.IpAddresses.Select(IPAddress.Parse).ToArray();
            serving = CertificateIssuer.IssueServing(authority, options.DnsNames, addresses, now.AddMinutes(-5), options.ServingLifetime, options.ClientAuthentication);
        }

        return new TlsMaterial(authority, serving, bundle);
    }

    public static TimeSpan RemainingOf(PemPair pair, DateTimeOffset now)
    {
        using var certificate = pair.Load();
        return certificate.NotAfter.ToUniversalTime() - now.UtcDateTime;
    }

    /// <summary>Whether <paramref name="ca"/> issued the certificate: its subject and key identifier match the certificate's issuer.</summary>
    public static bool IssuedBy(PemPair serving, System.Security.Cryptography.X509Certificates.X509Certificate2 ca)
    {
        ArgumentNullException.ThrowIfNull(serving);
        ArgumentNullException.ThrowIfNull(ca);
        using var leaf = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(serving.CertificatePem);
        return leaf.Issuer == ca.Subject && leaf.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509AuthorityKeyIdentifierExtension>()
            .Select(e => e.KeyIdentifier?.ToArray())
            .FirstOrDefault() is { } aki
            && ca.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectKeyIdentifierExtension>()
                .Select(e => e.SubjectKeyIdentifierBytes.ToArray()).FirstOrDefault() is { } ski
            && aki.AsSpan().SequenceEqual(ski);
    }
}
