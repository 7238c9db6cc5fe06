using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sidecars.Webhook.Admission;

/// <summary>
/// Namespace labels kept current by one list+watch; a namespace not seen yet (created a moment ago) is read directly
/// so a pod in a brand-new opted-in namespace is still injected.
/// </summary>
public sealed partial class NamespaceLabelCache(IKubernetes client, ILogger<NamespaceLabelCache> logger)
    : BackgroundService, INamespaceLabelSource
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _labels = new(StringComparer.Ordinal);

    public async ValueTask<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken)
    {
        if (_labels.TryGetValue(@namespace, out var labels))
        {
            return labels;
        }

        try
        {
            var ns = await client.CoreV1.ReadNamespaceAsync(@namespace, cancellationToken: cancellationToken);
            return Store(ns);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return NoLabels;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string? resourceVersion = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    var list = await client.CoreV1.ListNamespaceAsync(cancellationToken: stoppingToken);
                    _labels.Clear();
                    foreach (var ns in list.Items)
                    {
                        Store(ns);
                    }

                    resourceVersion = list.Metadata.ResourceVersion;
                }

                resourceVersion = await WatchAsync(resourceVersion, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException)
            {
                Log.WatchFailed(logger, e.Message);
                resourceVersion = null;
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    /// <summary>Follows the watch from <paramref name="resourceVersion"/>; returns where to resume, or null to relist.</summary>
    private async Task<string?> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        var response = client.CoreV1.ListNamespaceWithHttpMessagesAsync(
            watch: true, resourceVersion: resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300, cancellationToken: cancellationToken);
        await foreach (var (type, ns) in response.WatchAsync<V1Namespace, V1NamespaceList>(cancellationToken: cancellationToken))
        {
            switch (type)
            {
                case WatchEventType.Added or WatchEventType.Modified:
                    Store(ns);
                    break;
                case WatchEventType.Deleted:
                    _labels.TryRemove(ns.Metadata.Name, out _);
                    break;
                case WatchEventType.Error:
                    return null;
            }

            resourceVersion = ns.Metadata?.ResourceVersion ?? resourceVersion;
        }

        return resourceVersion;
    }

    private IReadOnlyDictionary<string, string> Store(V1Namespace ns)
    {
        var labels = ns.Metadata.Labels is { } l ? new Dictionary<string, string>(l, StringComparer.Ordinal) : NoLabels;
        _labels[ns.Metadata.Name] = labels;
        return labels;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Namespace watch failed, relisting: {Reason}")]
        public static partial void WatchFailed(ILogger logger, string reason);
    }
}
