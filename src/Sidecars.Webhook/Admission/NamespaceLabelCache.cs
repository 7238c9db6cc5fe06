using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Sidecars.Kubernetes;

namespace Sidecars.Webhook.Admission;

/// <summary>
/// Namespace labels from the shared namespace informer; a namespace the informer has not seen yet (created a moment
/// ago) is read directly so a pod in a brand-new opted-in namespace is still injected.
/// </summary>
public sealed class NamespaceLabelCache(IKubernetes client, SharedInformerFactory informers) : IHostedService, INamespaceLabelSource
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();
    private readonly ResourceInformer<V1Namespace> _namespaces = informers.Namespaces();

    public bool HasSynced => _namespaces.HasSynced;

    public async ValueTask<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken)
    {
        if (_namespaces.TryGet(null, @namespace, out var cached) && cached is not null)
        {
            return Labels(cached);
        }

        try
        {
            return Labels(await client.CoreV1.ReadNamespaceAsync(@namespace, cancellationToken: cancellationToken));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return NoLabels;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _namespaces.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static IReadOnlyDictionary<string, string> Labels(V1Namespace ns)
        => ns.Metadata.Labels is { } labels ? (IReadOnlyDictionary<string, string>)labels.AsReadOnly() : NoLabels;
}
