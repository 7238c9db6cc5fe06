using System.Security.Cryptography.X509Certificates;

namespace Sidecars.Identity.Blessings;

/// <summary>Outcome of verifying a blessing chain.</summary>
public sealed record BlessingVerification(bool IsValid, string? Name, string? Error)
{
    public static BlessingVerification Valid(string name) => new(true, name, null);

    public static BlessingVerification Invalid(string error) => new(false, null, error);
}

/// <summary>
/// Verifies blessing chains against trusted roots with the platform's X.509 chain engine: signatures,
/// validity periods, CA constraints, and that the leaf's name extends its root's.
/// </summary>
public sealed class BlessingVerifier
{
    private readonly X509Certificate2Collection _roots;

    public BlessingVerifier(IEnumerable<X509Certificate2> roots)
    {
        _roots = [.. roots];
        if (_roots.Count == 0)
        {
            throw new ArgumentException("at least one trusted root is required", nameof(roots));
        }
    }

    public BlessingVerification Verify(IReadOnlyList<byte[]> chain, DateTimeOffset at)
    {
        if (chain.Count == 0)
        {
            return BlessingVerification.Invalid("the chain is empty");
        }

        var certificates = new List<X509Certificate2>(chain.Count);
        try
        {
            foreach (var der in chain)
            {
                try
                {
                    certificates.Add(X509CertificateLoader.LoadCertificate(der));
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    return BlessingVerification.Invalid("the chain holds bytes that are not a DER certificate");
                }
            }

            return Verify(certificates[0], certificates.Skip(1), at);
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    public BlessingVerification Verify(X509Certificate2 leaf, IEnumerable<X509Certificate2> intermediates, DateTimeOffset at)
    {
        using var engine = new X509Chain();
        engine.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        engine.ChainPolicy.CustomTrustStore.AddRange(_roots);
        engine.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        engine.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        engine.ChainPolicy.VerificationTime = at.UtcDateTime;
        engine.ChainPolicy.VerificationTimeIgnored = false;
        engine.ChainPolicy.DisableCertificateDownloads = true;
        if (!engine.Build(leaf))
        {
            var reasons = engine.ChainStatus.Select(s => s.Status.ToString()).Distinct();
            return BlessingVerification.Invalid("the chain does not verify against the trusted roots: " + string.Join(", ", reasons));
        }

        var name = BlessingCertificates.GetBlessingName(leaf);
        if (name is null)
        {
            return BlessingVerification.Invalid("the leaf certificate carries no blessing name");
        }

        var root = engine.ChainElements[^1].Certificate;
        var rootName = BlessingCertificates.GetBlessingName(root);
        if (rootName is null || !BlessingName.IsExtensionOf(name, rootName))
        {
            return BlessingVerification.Invalid($"the blessing '{name}' does not extend its root's name '{rootName}'");
        }

        return BlessingVerification.Valid(name);
    }
}
