using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Tokens;

/// <summary>
/// A client certificate the host already holds in memory and renews itself: the cluster agent's own serving certificate,
/// which also allows client authentication and carries the token reader's name. Used when no files are configured.
/// </summary>
public sealed class HostTokenClientCertificate(Func<X509Certificate2?> current)
{
    public X509Certificate2? Current => current();
}

/// <summary>
/// The cluster agent's client certificate for the pod-agents' token port: from <see cref="UserPodsOptions.TokenClientCertificateFile"/>
/// and <see cref="UserPodsOptions.TokenClientKeyFile"/> when set (loaded again when either file changes, so a rotated Secret
/// applies to the next connection without a restart), otherwise the host's own (<see cref="HostTokenClientCertificate"/>).
/// </summary>
public sealed class TokenReaderCertificate(IOptions<UserPodsOptions> options, HostTokenClientCertificate? host = null) : IDisposable
{
    private readonly Lock _gate = new();
    private (DateTime Certificate, DateTime Key) _loadedAt;
    private X509Certificate2? _current;

    private bool FilesConfigured => !string.IsNullOrEmpty(options.Value.TokenClientCertificateFile) && !string.IsNullOrEmpty(options.Value.TokenClientKeyFile);

    /// <summary>Whether a client certificate is configured at all (files, or the host's own).</summary>
    public bool IsConfigured => FilesConfigured || host is not null;

    /// <summary>The current certificate with its key; null when none is configured or it cannot be read (yet).</summary>
    public X509Certificate2? Current()
    {
        if (!FilesConfigured)
        {
            return host?.Current;
        }

        var certificateFile = options.Value.TokenClientCertificateFile!;
        var keyFile = options.Value.TokenClientKeyFile!;
        lock (_gate)
        {
            try
            {
                var stamp = (File.GetLastWriteTimeUtc(certificateFile), File.GetLastWriteTimeUtc(keyFile));
                if (_current is null || stamp != _loadedAt)
                {
                    var loaded = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
                    _current?.Dispose();
                    _current = loaded;
                    _loadedAt = stamp;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                // Keep the last good certificate while a rotation is half written.
            }

            return _current;
        }
    }

    /// <summary>TLS settings for the token port: this certificate as the client's; the pod-agent's self-signed one accepted (see docs/identity.md).</summary>
    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Current()!,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
    };

    public void Dispose()
    {
        lock (_gate)
        {
            _current?.Dispose();
            _current = null;
        }
    }
}
