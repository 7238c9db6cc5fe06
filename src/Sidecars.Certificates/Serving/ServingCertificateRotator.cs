using k8s.Autorest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sidecars.Certificates.Rotation;

namespace Sidecars.Certificates.Serving;

/// <summary>
/// Keeps the serving certificate current: each pass issues what is due into the Secret and serves the Secret's pair.
/// Replicas race on the Secret's resourceVersion, so one issues and the others serve what it stored.
/// </summary>
public sealed partial class ServingCertificateRotator(
    TlsSecretRotation secret,
    ServingCertificate serving,
    TimeSpan checkInterval,
    TimeProvider time,
    ILogger<ServingCertificateRotator> logger) : BackgroundService
{
    /// <summary>Retry interval while no certificate is served yet.</summary>
    private static readonly TimeSpan StartRetry = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await TickAsync(stoppingToken);
                await Task.Delay(serving.Current is null ? StartRetry : checkInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (material, changed) = await secret.RotateAsync(null, cancellationToken);
            if (changed)
            {
                Log.Issued(logger, secret.Namespace, secret.SecretName);
            }

            if (material.Serving is { } pair && serving.Use(pair))
            {
                Log.Serving(logger, secret.Namespace, secret.SecretName);
            }
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
        {
            Log.Failed(logger, secret.Namespace, secret.SecretName, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Issued new serving TLS material into Secret {Namespace}/{Secret}")]
        public static partial void Issued(ILogger logger, string @namespace, string secret);

        [LoggerMessage(2, LogLevel.Information, "Serving the certificate of Secret {Namespace}/{Secret}")]
        public static partial void Serving(ILogger logger, string @namespace, string secret);

        [LoggerMessage(3, LogLevel.Warning, "Serving TLS of Secret {Namespace}/{Secret} not updated, will retry: {Reason}")]
        public static partial void Failed(ILogger logger, string @namespace, string secret, string reason);
    }
}
