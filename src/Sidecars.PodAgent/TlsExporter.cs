using Microsoft.Extensions.Logging;

namespace Sidecars.PodAgent;

/// <summary>
/// Opt-in (<c>--tls-dir</c>): after every issuance, writes the replica's TLS material into a directory of the pod's
/// shared volume so that apps can use stock TLS stacks: <c>tls.crt</c> (the chain, leaf first), <c>tls.key</c>
/// (PKCS#8; mode 0640, so readable by the pod's fsGroup) and <c>ca.crt</c> (the trust roots). Each file is replaced
/// atomically. This hands the private key to the pod's containers, which the socket API otherwise never does.
/// </summary>
internal sealed partial class TlsExporter : IAsyncDisposable
{
    public const string CertificateFile = "tls.crt";
    public const string KeyFile = "tls.key";
    public const string TrustRootsFile = "ca.crt";

    private readonly string _directory;
    private readonly BlessingHolder _holder;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private TlsExporter(string directory, BlessingHolder holder, ILogger logger)
    {
        _directory = directory;
        _holder = holder;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Starts exporting to <paramref name="directory"/>; null (nothing to dispose) when it is not set.</summary>
    public static TlsExporter? Start(string? directory, BlessingHolder holder, ILogger logger) =>
        string.IsNullOrEmpty(directory) ? null : new TlsExporter(directory, holder, logger);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        long seen = 0;
        var keyWritten = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _holder.WaitForChangeAsync(seen, cancellationToken);
                seen = _holder.Generation;
                if (_holder.Current is not { } blessing)
                {
                    continue;
                }

                Directory.CreateDirectory(_directory);
                if (!keyWritten)
                {
                    // The key never changes, so it is in place before the first certificate that names it.
                    await WriteAsync(KeyFile, _holder.Key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, cancellationToken);
                    keyWritten = true;
                }

                await WriteAsync(TrustRootsFile, Pem(_holder.TrustRoots.Certificates), PublicMode, cancellationToken);
                await WriteAsync(CertificateFile, Pem(blessing.Chain.Take(Math.Max(1, blessing.Chain.Count - 1))), PublicMode, cancellationToken);
                Exported(_logger, blessing.Name, _directory);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                ExportFailed(_logger, _directory, e);
            }
        }
    }

    private const UnixFileMode PublicMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private static string Pem(IEnumerable<Google.Protobuf.ByteString> certificates) =>
        string.Concat(certificates.Select(c => new string(System.Security.Cryptography.PemEncoding.Write("CERTIFICATE", c.Span)) + "\n"));

    private async Task WriteAsync(string name, string content, UnixFileMode mode, CancellationToken cancellationToken)
    {
        var target = Path.Combine(_directory, name);
        var temporary = Path.Combine(_directory, $".{name}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        await using (var stream = new FileStream(temporary, options))
        await using (var writer = new StreamWriter(stream))
        {
            await writer.WriteAsync(content.AsMemory(), cancellationToken);
        }

        File.Move(temporary, target, overwrite: true);
    }

    [LoggerMessage(20, LogLevel.Information, "Exported the TLS material of blessing {Blessing} to {Directory}")]
    private static partial void Exported(ILogger logger, string blessing, string directory);

    [LoggerMessage(21, LogLevel.Warning, "Could not export the TLS material to {Directory}")]
    private static partial void ExportFailed(ILogger logger, string directory, Exception exception);
}
