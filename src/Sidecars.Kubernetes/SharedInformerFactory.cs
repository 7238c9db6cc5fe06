using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Sidecars.Kubernetes;

/// <summary>
/// Hands out one informer per kind, namespace and label selector, so every consumer of the same objects shares a
/// single watch. Disposing the factory stops every informer it created.
/// </summary>
/// <param name="watchTimeout">
/// How long the server keeps each watch open (<see cref="KubernetesResourceSources.DefaultWatchTimeout"/> when null);
/// an informer takes a watch silent for a minute longer than that for stalled.
/// </param>
public sealed class SharedInformerFactory(KubernetesConnection client, ILoggerFactory loggerFactory, TimeSpan? watchTimeout = null) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(Type Kind, string Namespace, string Selector), Lazy<IResourceInformer>> _informers = new();

    /// <summary>How long the server keeps each watch of this factory's informers open; sources given to <see cref="Get{T}"/> should use it too.</summary>
    public TimeSpan WatchTimeout { get; } = watchTimeout ?? KubernetesResourceSources.DefaultWatchTimeout;

    /// <param name="namespace">Null or empty for all namespaces.</param>
    public ResourceInformer<V1Pod> Pods(string? @namespace, string? labelSelector) =>
        Get(@namespace, labelSelector, () => KubernetesResourceSources.Pods(client, @namespace, labelSelector, watchTimeout: WatchTimeout));

    /// <param name="namespace">Null or empty for all namespaces.</param>
    public ResourceInformer<V1Deployment> Deployments(string? @namespace, string? labelSelector) =>
        Get(@namespace, labelSelector, () => KubernetesResourceSources.Deployments(client, @namespace, labelSelector, WatchTimeout));

    public ResourceInformer<V1Namespace> Namespaces(string? labelSelector = null) =>
        Get(null, labelSelector, () => KubernetesResourceSources.Namespaces(client, labelSelector, WatchTimeout));

    /// <summary>ConfigMaps narrowed by a field selector (such as <c>metadata.name=x</c>, one name in every namespace).</summary>
    /// <param name="namespace">Null or empty for all namespaces.</param>
    public ResourceInformer<V1ConfigMap> ConfigMaps(string? @namespace, string fieldSelector) =>
        Get(@namespace, "fields:" + fieldSelector, () => KubernetesResourceSources.ConfigMaps(client, @namespace, fieldSelector, WatchTimeout));

    /// <summary>The one Secret <paramref name="name"/> of <paramref name="namespace"/>.</summary>
    public ResourceInformer<V1Secret> Secret(string @namespace, string name) =>
        Get(@namespace, "fields:metadata.name=" + name, () => KubernetesResourceSources.Secret(client, @namespace, name, WatchTimeout));

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
            _ => new Lazy<IResourceInformer>(() => new ResourceInformer<T>(source(), loggerFactory.CreateLogger<ResourceInformer<T>>(), WatchTimeout + TimeSpan.FromMinutes(1))));
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
