using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Webhook.Admission;
using Sidecars.Webhook.Leadership;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Repair;

/// <summary>
/// On the leader, periodically finds opted-in pods that lack their sidecars or owner label, reports each as a
/// Kubernetes Event and in a gauge, and optionally evicts controller-owned ones so they are recreated through admission.
/// </summary>
public sealed partial class RepairLoop(
    IKubernetes client,
    RepairPlanner planner,
    INamespaceLabelSource namespaces,
    WebhookLeadership leadership,
    IOptions<RepairOptions> options,
    TimeProvider time,
    ILogger<RepairLoop> logger) : BackgroundService
{
    private readonly RepairOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Interval, time);
        try
        {
            do
            {
                if (leadership.IsLeader)
                {
                    await ScanAsync(stoppingToken);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One scan of every pod; returns what was found.</summary>
    public async Task<IReadOnlyList<RepairFinding>> ScanAsync(CancellationToken cancellationToken)
    {
        var findings = new List<RepairFinding>();
        try
        {
            string? continueToken = null;
            do
            {
                var page = await client.CoreV1.ListPodForAllNamespacesAsync(limit: 500, continueParameter: continueToken, cancellationToken: cancellationToken);
                foreach (var pod in page.Items)
                {
                    var labels = await namespaces.GetLabelsAsync(pod.Metadata.NamespaceProperty, cancellationToken);
                    if (planner.Inspect(pod, labels) is { } finding)
                    {
                        findings.Add(finding);
                        await ReportAsync(pod, finding, cancellationToken);
                    }
                }

                continueToken = page.Metadata.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(continueToken));
            WebhookMetrics.PodsMissingInjection.Set(findings.Count);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
        {
            Log.ScanFailed(logger, e.Message);
        }

        return findings;
    }

    private async Task ReportAsync(V1Pod pod, RepairFinding finding, CancellationToken cancellationToken)
    {
        var missing = string.Join(", ", finding.Missing);
        Log.Found(logger, finding.Namespace, finding.Name, missing);
        var now = time.GetUtcNow().UtcDateTime;
        await client.CoreV1.CreateNamespacedEventAsync(
            new Corev1Event
            {
                Metadata = new V1ObjectMeta { GenerateName = pod.Metadata.Name + ".", NamespaceProperty = finding.Namespace },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = "v1", Kind = "Pod", Name = pod.Metadata.Name, NamespaceProperty = finding.Namespace, Uid = pod.Metadata.Uid,
                },
                Reason = "SidecarsMissing",
                Message = $"Admitted without the Sidecars webhook; missing: {missing}" + (finding.HasController && _options.Evict ? "; evicting so it is recreated" : string.Empty),
                Type = "Warning",
                Source = new V1EventSource { Component = "sidecars-webhook" },
                FirstTimestamp = now,
                LastTimestamp = now,
                Count = 1,
            },
            finding.Namespace,
            cancellationToken: cancellationToken);

        if (_options.Evict && finding.HasController)
        {
            try
            {
                await client.CoreV1.CreateNamespacedPodEvictionAsync(
                    new V1Eviction { Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = finding.Namespace } },
                    pod.Metadata.Name, finding.Namespace, cancellationToken: cancellationToken);
                WebhookMetrics.RepairEvictions.WithLabels("evicted").Inc();
            }
            catch (HttpOperationException e)
            {
                // 429 means a PodDisruptionBudget says not now; the next scan tries again.
                WebhookMetrics.RepairEvictions.WithLabels(((int)e.Response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                Log.EvictionRefused(logger, finding.Namespace, finding.Name, e.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Pod {Namespace}/{Name} was admitted without Sidecars; missing {Missing}")]
        public static partial void Found(ILogger logger, string @namespace, string name, string missing);

        [LoggerMessage(2, LogLevel.Warning, "Repair scan failed: {Reason}")]
        public static partial void ScanFailed(ILogger logger, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Eviction of pod {Namespace}/{Name} refused: {Reason}")]
        public static partial void EvictionRefused(ILogger logger, string @namespace, string name, string reason);
    }
}
