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

    /// <summary>
    /// The shared informer of any other kind: <paramref name="source"/> is called once per distinct
    /// (kind, namespace, selector) to create it.
    /// </summary>
    public ResourceInformer<T> Get<T>(string? @namespace, string? labelSelector, Func<IResourceSource<T>> source)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(source);
        var lazy = _informers.GetOrAdd(
            (typeof(T), @namespace ?? string.Empty, labelSelector ?? string.Empty),
            _ => new Lazy<IResourceInformer>(() => new ResourceInformer<T>(source(), loggerFactory.CreateLogger<ResourceInformer<T>>())));
        return (ResourceInformer<T>)lazy.Value;
    }

    /// <summary>Watch traffic of every informer created so far, by description.</summary>
    public IReadOnlyDictionary<string, InformerStatistics> Statistics() =>
        _informers.Values.Where(l => l.IsValueCreated).ToDictionary(l => l.Value.Description, l => l.Value.Statistics, StringComparer.Ordinal);

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
