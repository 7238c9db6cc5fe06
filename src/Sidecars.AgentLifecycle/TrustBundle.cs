using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.AgentLifecycle;

/// <summary>
/// A PEM bundle of CAs on disk, the only roots a server certificate is checked against (<see cref="PrivateRootTrust"/>).
/// The file is read again for every check (one per new TLS connection), so a bundle the kubelet swaps in — a ConfigMap
/// volume's files change by an atomic swap of its <c>..data</c> link — is used from the next connection on, without
/// a restart; it is parsed again only when its bytes changed.
/// </summary>
public sealed class TrustBundle(string path)
{
    private readonly Lock _lock = new();
    private byte[] _content = [];
    private X509Certificate2Collection _roots = [];

    public string Path => path;

    /// <summary>Null when <paramref name="certificate"/> chains to a CA of the bundle; otherwise why not, naming the certificate and the bundle's CAs.</summary>
    public string? Check(X509Certificate2? certificate, SslPolicyErrors errors)
    {
        X509Certificate2Collection roots;
        try
        {
            roots = Roots();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            return $"the CA bundle {path} cannot be read ({e.Message})";
        }

        if (roots.Count == 0)
        {
            return $"the CA bundle {path} holds no certificate";
        }

        return PrivateRootTrust.Check(certificate, errors, roots) is { } reason
            ? $"{reason}; trusted CAs from {path}: {string.Join("; ", roots.Select(r => $"'{r.Subject}'"))}"
            : null;
    }

    private X509Certificate2Collection Roots()
    {
        var content = File.ReadAllBytes(path);
        lock (_lock)
        {
            if (!content.AsSpan().SequenceEqual(_content))
            {
                var roots = new X509Certificate2Collection();
                roots.ImportFromPem(System.Text.Encoding.UTF8.GetString(content));
                (_content, _roots) = (content, roots);
            }

            return _roots;
        }
    }
}
