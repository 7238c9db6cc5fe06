using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Kubernetes;
using Sidecars.Certificates.Issuing;
using Sidecars.Certificates.Rotation;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Tls;

/// <summary>
/// Keeps the webhook's TLS current with no extra component: the elected replica issues CA and serving certificates
/// into a Secret and patches the caBundle (old and new CA together during rollover); every replica writes the serving
/// pair to its certificate files, where <see cref="CertificateReloader"/> picks it up.
/// </summary>
public sealed partial class CertificateRotator(
    KubernetesConnection client,
    LeaseElector leadership,
    IOptions<WebhookOptions> webhookOptions,
    IOptions<RotationOptions> rotationOptions,
    TimeProvider time,
    ILogger<CertificateRotator> logger) : BackgroundService
{
    private readonly WebhookOptions _webhook = webhookOptions.Value;
    private readonly RotationOptions _rotation = rotationOptions.Value;
    private readonly TlsSecretRotation _secret = new(
        client, webhookOptions.Value.Namespace, rotationOptions.Value.SecretName, TlsSecretLayout.Webhook, rotationOptions.Value, time);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var leading = new SemaphoreSlim(0);
        void OnLeading() => leading.Release();
        leadership.StartedLeading += OnLeading;
        using var timer = new PeriodicTimer(_rotation.CheckInterval, time);
        // Wake on the next tick, or at once when this replica becomes leader. A wait that did not fire is kept for the
        // next round: the timer allows one pending wait only, and an abandoned semaphore wait would swallow a release.
        Task? tick = null;
        Task? lead = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await TickAsync(leadership.IsLeader, stoppingToken);
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                lead ??= leading.WaitAsync(stoppingToken);
                if (await Task.WhenAny(tick, lead) == tick)
                {
                    tick = null;
                }
                else
                {
                    lead = null;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            leadership.StartedLeading -= OnLeading;
        }
    }

    /// <summary>One pass: rotate when leading, then bring this replica's files in line with the Secret.</summary>
    internal async Task TickAsync(bool leader, CancellationToken cancellationToken)
    {
        try
        {
            TlsMaterial material;
            if (leader)
            {
                (material, var changed) = await _secret.RotateAsync(PatchCaBundleAsync, cancellationToken);
                if (changed)
                {
                    WebhookMetrics.CertificateRotations.WithLabels("success").Inc();
                    Log.Rotated(logger, _rotation.SecretName);
                }
            }
            else
            {
                material = await _secret.ReadAsync(cancellationToken);
            }

            if (_rotation.WriteFiles && material.Serving is { } serving)
            {
                await WriteFilesAsync(serving, cancellationToken);
            }
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
        {
            WebhookMetrics.CertificateRotations.WithLabels("failure").Inc();
            Log.RotationFailed(logger, e.Message);
        }
    }

    private async Task PatchCaBundleAsync(string bundle, CancellationToken cancellationToken)
    {
        V1MutatingWebhookConfiguration configuration;
        try
        {
            configuration = await client.GetAsync(WebhookConfigurationPath(_webhook.WebhookConfigurationName), WebhookJsonContext.Shared.V1MutatingWebhookConfiguration, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            Log.NoWebhookConfiguration(logger, _webhook.WebhookConfigurationName);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(bundle);
        foreach (var webhook in configuration.Webhooks ?? [])
        {
            webhook.ClientConfig.CaBundle = bytes;
        }

        await client.ReplaceAsync(
            WebhookConfigurationPath(configuration.Metadata.Name), configuration, WebhookJsonContext.Shared.V1MutatingWebhookConfiguration, cancellationToken);
    }

    private static string WebhookConfigurationPath(string name) =>
        KubernetesRequests.ObjectPath("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", null, name);

    private async Task WriteFilesAsync(PemPair serving, CancellationToken cancellationToken)
    {
        if (File.Exists(_webhook.CertificateFile) && await File.ReadAllTextAsync(_webhook.CertificateFile, cancellationToken) == serving.CertificatePem)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_webhook.CertificateFile))!);
        await AtomicFile.WriteAsync(_webhook.KeyFile, serving.KeyPem, cancellationToken);
        await AtomicFile.WriteAsync(_webhook.CertificateFile, serving.CertificatePem, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Issued new webhook TLS material into Secret {Secret}")]
        public static partial void Rotated(ILogger logger, string secret);

        [LoggerMessage(2, LogLevel.Warning, "Webhook TLS rotation failed, will retry: {Reason}")]
        public static partial void RotationFailed(ILogger logger, string reason);

        [LoggerMessage(3, LogLevel.Warning, "MutatingWebhookConfiguration {Name} not found; caBundle not patched")]
        public static partial void NoWebhookConfiguration(ILogger logger, string name);
    }
}
