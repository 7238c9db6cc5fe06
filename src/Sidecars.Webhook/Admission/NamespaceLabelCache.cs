using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Sidecars.Kubernetes;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Admission;

/// <summary>
/// Namespace labels from the shared namespace informer. The apiserver admits pods only into namespaces that exist, so a
/// namespace the informer has not seen is either brand new (created a moment ago, its watch event still on the way) or
/// made up by a caller that is not the apiserver; it is read directly so a pod in a brand-new opted-in namespace is still
/// injected, through <see cref="BoundedReads{T}"/> so that a flood of made-up names costs the apiserver a handful of reads.
/// </summary>
public sealed class NamespaceLabelCache : IHostedService, INamespaceLabelSource, IDisposable
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();
    private readonly ResourceInformer<V1Namespace> _namespaces;
    private readonly BoundedReads<V1Namespace> _misses;

    public NamespaceLabelCache(KubernetesConnection client, SharedInformerFactory informers, TimeProvider time)
    {
        _namespaces = informers.Namespaces();
        _misses = new BoundedReads<V1Namespace>((name, ct) => ReadAsync(client, name, ct), time: time);
    }

    public bool HasSynced => _namespaces.HasSynced;

    /// <summary>Completes once the first list of namespaces is in the cache.</summary>
    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _namespaces.WaitForSyncAsync(cancellationToken);

    public async ValueTask<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken)
    {
        if (_namespaces.TryGet(null, @namespace, out var cached) && cached is not null)
        {
            return Labels(cached);
        }

        var (read, result) = await _misses.GetAsync(@namespace, cancellationToken);
        WebhookMetrics.NamespaceReads.WithLabels(ResultLabel(result)).Inc();
        return read is null ? NoLabels : Labels(read);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _namespaces.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _misses.Dispose();

    private static async Task<V1Namespace?> ReadAsync(KubernetesConnection client, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetAsync(KubernetesRequests.ObjectPath("", "v1", "namespaces", null, name), KubernetesJsonMetadata.Namespace, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static string ResultLabel(BoundedReadResult result) => result switch
    {
        BoundedReadResult.Read => "read",
        BoundedReadResult.Shared => "shared",
        BoundedReadResult.RememberedMissing => "remembered-missing",
        _ => "throttled",
    };

    private static IReadOnlyDictionary<string, string> Labels(V1Namespace ns)
        => ns.Metadata.Labels is { } labels ? (IReadOnlyDictionary<string, string>)labels.AsReadOnly() : NoLabels;
}
