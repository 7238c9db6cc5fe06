using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Tls;

/// <summary>
/// Holds the serving certificate read from PEM files and swaps it when the files change (a Secret volume update,
/// a certs/ script run or the rotator), without a restart. A bad file keeps the previous certificate in use.
/// </summary>
public sealed partial class CertificateReloader : IDisposable
{
    private readonly string _certificateFile;
    private readonly string _keyFile;
    private readonly ILogger<CertificateReloader> _logger;
    private readonly FileSystemWatcher? _watcher;
    private readonly Lock _gate = new();
    private X509Certificate2? _current;
    private DateTime _loadedCertificateWrite;
    private DateTime _loadedKeyWrite;

    public CertificateReloader(IOptions<WebhookOptions> options, ILogger<CertificateReloader> logger)
    {
        _certificateFile = Path.GetFullPath(options.Value.CertificateFile);
        _keyFile = Path.GetFullPath(options.Value.KeyFile);
        _logger = logger;
        TryReload();
        var directory = Path.GetDirectoryName(_certificateFile);
        if (directory is not null && Directory.Exists(directory))
        {
            // Secret volumes swap a "..data" symlink, so watch the directory rather than the file names.
            _watcher = new FileSystemWatcher(directory) { IncludeSubdirectories = false, EnableRaisingEvents = true };
            _watcher.Changed += (_, _) => TryReload();
            _watcher.Created += (_, _) => TryReload();
            _watcher.Renamed += (_, _) => TryReload();
        }
    }

    /// <summary>Raised after a new certificate is in use.</summary>
    public event Action<X509Certificate2>? Reloaded;

    /// <summary>The certificate in use; reloads first if the files changed since (cheap: two stat calls).</summary>
    public X509Certificate2 Current
    {
        get
        {
            if (File.GetLastWriteTimeUtc(_certificateFile) != _loadedCertificateWrite || File.GetLastWriteTimeUtc(_keyFile) != _loadedKeyWrite)
            {
                TryReload();
            }

            return _current ?? throw new InvalidOperationException($"no serving certificate could be loaded from {_certificateFile} and {_keyFile}");
        }
    }

    public bool HasCertificate => _current is not null;

    /// <summary>Loads the files if they changed; returns whether a new certificate is in use.</summary>
    public bool TryReload()
    {
        lock (_gate)
        {
            var certificateWrite = File.GetLastWriteTimeUtc(_certificateFile);
            var keyWrite = File.GetLastWriteTimeUtc(_keyFile);
            if (_current is not null && certificateWrite == _loadedCertificateWrite && keyWrite == _loadedKeyWrite)
            {
                return false;
            }

            try
            {
                var loaded = X509Certificate2.CreateFromPemFile(_certificateFile, _keyFile);
                if (_current is not null && loaded.Thumbprint == _current.Thumbprint)
                {
                    loaded.Dispose();
                    (_loadedCertificateWrite, _loadedKeyWrite) = (certificateWrite, keyWrite);
                    return false;
                }

                _current = loaded;
                (_loadedCertificateWrite, _loadedKeyWrite) = (certificateWrite, keyWrite);
                WebhookMetrics.TlsReloads.WithLabels("success").Inc();
                WebhookMetrics.CertificateExpirySeconds.Set((loaded.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalSeconds);
                Log.Loaded(_logger, _certificateFile, loaded.Subject, loaded.NotAfter);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                WebhookMetrics.TlsReloads.WithLabels("failure").Inc();
                Log.LoadFailed(_logger, _certificateFile, e.Message);
                return false;
            }
        }

        Reloaded?.Invoke(_current);
        return true;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _current?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Serving certificate loaded from {File}: {Subject}, expires {NotAfter:o}")]
        public static partial void Loaded(ILogger logger, string file, string subject, DateTime notAfter);

        [LoggerMessage(2, LogLevel.Error, "Serving certificate from {File} could not be loaded, keeping the previous one: {Reason}")]
        public static partial void LoadFailed(ILogger logger, string file, string reason);
    }
}
