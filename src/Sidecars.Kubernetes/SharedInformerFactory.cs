using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Sidecars.Kubernetes;

/// <summary>
/// Hands out one informer per kind, namespace and label selector, so every consumer of the same objects shares a
/// single watch. Disposing the factory stops every informer it created.
/// </summary>
public sealed class SharedInformerFactory(IKubernetes client, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(Type Kind, string Namespace, string Selector), Lazy<IResourceInformer>> _informers = new();

    /// <param name="namespace">Null or empty for all namespaces.</param>
    public ResourceInformer<V1Pod> Pods(string? @namespace, string? labelSelector) =>
        Get(@namespace, labelSelector, () => KubernetesResourceSources.Pods(client, @namespace, labelSelector));

    /// <param name="namespace">Null or empty for all namespaces.</param>
    public ResourceInformer<V1Deployment> Deployments(string? @namespace, string? labelSelector) =>
        Get(@namespace, labelSelector, () => KubernetesResourceSources.Deployments(client, @namespace, labelSelector));

    public ResourceInformer<V1Namespace> Namespaces(string? labelSelector = null) =>
        Get(null, labelSelector, () => KubernetesResourceSources.Namespaces(client, labelSelector));

    /// <summary>Watch traffic of every informer created so far.</summary>
    public IReadOnlyDictionary<string, InformerStatistics> Statistics()
    {
        var result = new Dictionary<string, InformerStatistics>(StringComparer.Ordinal);
        foreach (var lazy in _informers.Values)
        {
            switch (lazy.Value)
            {
                case ResourceInformer<V1Pod> pods: result[pods.Description] = pods.Statistics; break;
                case ResourceInformer<V1Deployment> deployments: result[deployments.Description] = deployments.Statistics; break;
                case ResourceInformer<V1Namespace> namespaces: result[namespaces.Description] = namespaces.Statistics; break;
            }
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _informers.Values)
        {
            if (lazy.IsValueCreated)
            {
                await lazy.Value.DisposeAsync();
            }
        }

        _informers.Clear();
    }
}
