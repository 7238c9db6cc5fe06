using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;

namespace Sidecars.Kubernetes;

/// <summary>Resource sources over the Kubernetes API for the kinds Sidecars watches.</summary>
public static class KubernetesResourceSources
{
    /// <summary>
    /// Watch requests end after this long on the server unless a source is given another timeout; the informer then
    /// resumes from its resourceVersion (and relists when the server answers that it is too old: 410 Gone).
    /// </summary>
    public const int WatchTimeoutSeconds = 300;

    /// <summary><see cref="WatchTimeoutSeconds"/> as a span.</summary>
    public static readonly TimeSpan DefaultWatchTimeout = TimeSpan.FromSeconds(WatchTimeoutSeconds);

    /// <param name="namespace">Null or empty for all namespaces.</param>
    /// <param name="fieldSelector">For example <c>spec.nodeName=node-1</c>; null for none.</param>
    public static IResourceSource<V1Pod> Pods(KubernetesConnection client, string? @namespace, string? labelSelector, string? fieldSelector = null, TimeSpan? watchTimeout = null) =>
        Create(
            client, KubernetesWatch.CollectionPath("", "v1", "pods", @namespace), Describe("pods", @namespace, labelSelector, fieldSelector),
            labelSelector, fieldSelector, watchTimeout, KubernetesJsonMetadata.PodList, list => (list.Items, list.Metadata), KubernetesJsonMetadata.Pod);

    /// <param name="namespace">Null or empty for all namespaces.</param>
    public static IResourceSource<V1Deployment> Deployments(KubernetesConnection client, string? @namespace, string? labelSelector, TimeSpan? watchTimeout = null) =>
        Create(
            client, KubernetesWatch.CollectionPath("apps", "v1", "deployments", @namespace), Describe("deployments", @namespace, labelSelector, null),
            labelSelector, null, watchTimeout, KubernetesJsonMetadata.DeploymentList, list => (list.Items, list.Metadata), KubernetesJsonMetadata.Deployment);

    public static IResourceSource<V1Namespace> Namespaces(KubernetesConnection client, string? labelSelector, TimeSpan? watchTimeout = null) =>
        Create(
            client, KubernetesWatch.CollectionPath("", "v1", "namespaces"), Describe("namespaces", null, labelSelector, null),
            labelSelector, null, watchTimeout, KubernetesJsonMetadata.NamespaceList, list => (list.Items, list.Metadata), KubernetesJsonMetadata.Namespace);

    /// <summary>ConfigMaps of one namespace, or of all; <paramref name="fieldSelector"/> such as <c>metadata.name=x</c> narrows them to one name.</summary>
    /// <param name="namespace">Null or empty for all namespaces.</param>
    public static IResourceSource<V1ConfigMap> ConfigMaps(KubernetesConnection client, string? @namespace, string? fieldSelector, TimeSpan? watchTimeout = null) =>
        Create(
            client, KubernetesWatch.CollectionPath("", "v1", "configmaps", @namespace), Describe("configmaps", @namespace, null, fieldSelector),
            null, fieldSelector, watchTimeout, KubernetesJsonMetadata.ConfigMapList, list => (list.Items, list.Metadata), KubernetesJsonMetadata.ConfigMap);

    /// <summary>The one Secret <paramref name="name"/> of a namespace (list and watch narrowed to it, so RBAC may name it).</summary>
    public static IResourceSource<V1Secret> Secret(KubernetesConnection client, string @namespace, string name, TimeSpan? watchTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Create(
            client, KubernetesWatch.CollectionPath("", "v1", "secrets", @namespace), $"secret {@namespace}/{name}",
            null, "metadata.name=" + name, watchTimeout, KubernetesJsonMetadata.SecretList, list => (list.Items, list.Metadata), KubernetesJsonMetadata.Secret);
    }

    /// <summary>
    /// List and watch of the collection <paramref name="path"/> narrowed by the selectors, read with the metadata given
    /// (<see cref="KubernetesJsonMetadata"/> or a context of the caller's), so a process links only the kinds it watches.
    /// </summary>
    public static IResourceSource<T> Create<T, TList>(
        KubernetesConnection client,
        string path,
        string description,
        string? labelSelector,
        string? fieldSelector,
        TimeSpan? watchTimeout,
        JsonTypeInfo<TList> listType,
        Func<TList, (IList<T>? Items, V1ListMeta? Metadata)> items,
        JsonTypeInfo<T> itemType)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(listType);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(itemType);
        var timeoutSeconds = TimeoutSeconds(watchTimeout);
        var listUri = KubernetesWatch.ListUri(path, labelSelector, fieldSelector);
        return new DelegateSource<T>(
            description,
            async ct =>
            {
                var (list, metadata) = items(await client.GetAsync(listUri, listType, ct).ConfigureAwait(false));
                return new ResourceList<T>([.. list ?? []], metadata?.ResourceVersion ?? string.Empty);
            },
            (rv, onError, ct) => client.WatchAsync(new WatchRequest(path, rv, labelSelector, fieldSelector, timeoutSeconds), itemType, onError, ct));
    }

    /// <summary>Whole seconds (at least one) of <paramref name="watchTimeout"/>, <see cref="WatchTimeoutSeconds"/> when null.</summary>
    private static int TimeoutSeconds(TimeSpan? watchTimeout) =>
        watchTimeout is { } timeout ? Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)) : WatchTimeoutSeconds;

    private static string Describe(string kind, string? ns, string? selector, string? fieldSelector) =>
        $"{kind} in {(string.IsNullOrEmpty(ns) ? "all namespaces" : "namespace " + ns)}" +
        (string.IsNullOrEmpty(selector) ? string.Empty : $" matching '{selector}'") +
        (string.IsNullOrEmpty(fieldSelector) ? string.Empty : $" with {fieldSelector}");

    private sealed class DelegateSource<T>(
        string description,
        Func<CancellationToken, Task<ResourceList<T>>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch) : IResourceSource<T>
        where T : class
    {
        public string Description => description;

        public Task<ResourceList<T>> ListAsync(CancellationToken cancellationToken) => list(cancellationToken);

        public IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
            string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken) =>
            watch(resourceVersion, onError, cancellationToken);
    }
}
