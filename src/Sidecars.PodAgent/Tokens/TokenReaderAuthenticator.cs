using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.PodAgent.Tokens;

/// <summary>What a token request's client certificate proved.</summary>
internal enum TokenReaderVerdict
{
    Accepted,

    /// <summary>No client certificate: 401.</summary>
    NoCertificate,

    /// <summary>The pod-agent was given no CA bundle to check readers against: 403 for everyone.</summary>
    NoTrustBundle,

    /// <summary>The certificate does not chain to the bundle, has expired or is not for client authentication: 403.</summary>
    Untrusted,

    /// <summary>A trusted certificate for another name: 403.</summary>
    WrongName,
}

/// <summary>
/// Decides whether a client certificate is the token reader's: it must chain to the CA bundle (read again for every
/// request, so a rotated bundle applies without a restart), be valid now, allow client authentication and carry the
/// reader's DNS name as a subject alternative name.
/// </summary>
internal sealed class TokenReaderAuthenticator(string? caBundleFile, string readerName)
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    public string ReaderName { get; } = readerName;

    public TokenReaderVerdict Check(X509Certificate2? client)
    {
        if (client is null)
        {
            return TokenReaderVerdict.NoCertificate;
        }

        var roots = LoadBundle();
        if (roots is null)
        {
            return TokenReaderVerdict.NoTrustBundle;
        }

        using var chain = new X509Chain();
        try
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
            if (!chain.Build(client))
            {
                return TokenReaderVerdict.Untrusted;
            }

            return client.MatchesHostname(ReaderName, allowWildcards: false, allowCommonName: false)
                ? TokenReaderVerdict.Accepted
                : TokenReaderVerdict.WrongName;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }

            foreach (var root in roots)
            {
                root.Dispose();
            }
        }
    }

    private X509Certificate2Collection? LoadBundle()
    {
        if (string.IsNullOrEmpty(caBundleFile))
        {
            return null;
        }

        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caBundleFile);
            return roots.Count > 0 ? roots : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            return null;
        }
    }
}
