using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Sidecars.Conventions;

namespace Sidecars.Lightpeer;

/// <summary>
/// Peer credentials from a directory (the mounted Secret <see cref="SidecarsNames.LightpeerIdentitySecret"/>):
/// <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c>. The files are looked at again at most every
/// <see cref="RecheckInterval"/> and parsed again only when their bytes changed, so a Secret the kubelet swaps in
/// (rotation) is used from the next connection on. Unreadable or inconsistent files keep the material in force.
/// </summary>
public sealed partial class PeerTlsDirectory : PeerTls
{
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(5);

    private readonly string _directory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private byte[] _content = [];
    private PeerTlsMaterial? _current;
    private DateTimeOffset _checked = DateTimeOffset.MinValue;
    private string? _lastError;

    public PeerTlsDirectory(string directory, TimeProvider time, ILogger logger)
    {
        _directory = directory;
        _time = time;
        _logger = logger;
    }

    public string Directory => _directory;

    public override PeerTlsMaterial? Current
    {
        get
        {
            lock (_lock)
            {
                var now = _time.GetUtcNow();
                if (now - _checked >= RecheckInterval)
                {
                    _checked = now;
                    Reload();
                }

                return _current;
            }
        }
    }

    private void Reload()
    {
        byte[] certificate, key, authorities;
        try
        {
            certificate = File.ReadAllBytes(Path.Combine(_directory, SidecarsNames.LightpeerCertificateKey));
            key = File.ReadAllBytes(Path.Combine(_directory, SidecarsNames.LightpeerKeyKey));
            authorities = File.ReadAllBytes(Path.Combine(_directory, SidecarsNames.LightpeerCaKey));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Failed($"cannot read {SidecarsNames.LightpeerCertificateKey}, {SidecarsNames.LightpeerKeyKey} and {SidecarsNames.LightpeerCaKey}: {e.Message}");
            return;
        }

        byte[] content = [.. certificate, .. key, .. authorities];
        if (content.AsSpan().SequenceEqual(_content))
        {
            return;
        }

        try
        {
            var pair = X509Certificate2.CreateFromPem(
                System.Text.Encoding.UTF8.GetString(certificate), System.Text.Encoding.UTF8.GetString(key));
            var roots = new X509Certificate2Collection();
            roots.ImportFromPem(System.Text.Encoding.UTF8.GetString(authorities));
            if (roots.Count == 0)
            {
                Failed($"{SidecarsNames.LightpeerCaKey} holds no certificate");
                return;
            }

            // The previous material is left to the collector: a handshake in flight may still hold it.
            (_content, _current, _lastError) = (content, new PeerTlsMaterial(pair, roots), null);
            Log.Loaded(_logger, _directory, pair.Subject, pair.NotAfter.ToUniversalTime());
        }
        catch (CryptographicException e)
        {
            Failed($"the certificate, key or CA bundle is not valid PEM: {e.Message}");
        }
    }

    private void Failed(string reason)
    {
        if (reason != _lastError)
        {
            _lastError = reason;
            Log.Unusable(_logger, _directory, reason, _current is not null);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Lightpeer TLS material loaded from {Directory}: {Subject}, valid until {NotAfter:u}")]
        public static partial void Loaded(ILogger logger, string directory, string subject, DateTime notAfter);

        [LoggerMessage(2, LogLevel.Warning, "Lightpeer TLS material in {Directory} is unusable ({Reason}); keeping the previous material: {KeptPrevious}")]
        public static partial void Unusable(ILogger logger, string directory, string reason, bool keptPrevious);
    }
}
