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
    public static IResourceSource<V1Pod> Pods(IKubernetes client, string? @namespace, string? labelSelector, string? fieldSelector = null, TimeSpan? watchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var timeoutSeconds = TimeoutSeconds(watchTimeout);
        var all = string.IsNullOrEmpty(@namespace);
        var description = Describe("pods", @namespace, labelSelector);
        return new DelegateSource<V1Pod>(
            string.IsNullOrEmpty(fieldSelector) ? description : $"{description} with {fieldSelector}",
            async ct =>
            {
                var list = all
                    ? await client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: fieldSelector, labelSelector: labelSelector, cancellationToken: ct)
                    : await client.CoreV1.ListNamespacedPodAsync(@namespace, fieldSelector: fieldSelector, labelSelector: labelSelector, cancellationToken: ct);
                return new ResourceList<V1Pod>([.. list.Items], list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.WatchAsync<V1Pod>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "pods", @namespace), rv, labelSelector, fieldSelector, timeoutSeconds),
                onError, ct));
    }

    /// <param name="namespace">Null or empty for all namespaces.</param>
    public static IResourceSource<V1Deployment> Deployments(IKubernetes client, string? @namespace, string? labelSelector, TimeSpan? watchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var timeoutSeconds = TimeoutSeconds(watchTimeout);
        var all = string.IsNullOrEmpty(@namespace);
        return new DelegateSource<V1Deployment>(
            Describe("deployments", @namespace, labelSelector),
            async ct =>
            {
                var list = all
                    ? await client.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: labelSelector, cancellationToken: ct)
                    : await client.AppsV1.ListNamespacedDeploymentAsync(@namespace, labelSelector: labelSelector, cancellationToken: ct);
                return new ResourceList<V1Deployment>([.. list.Items], list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.WatchAsync<V1Deployment>(
                new WatchRequest(KubernetesWatch.CollectionPath("apps", "v1", "deployments", @namespace), rv, labelSelector, null, timeoutSeconds),
                onError, ct));
    }

    public static IResourceSource<V1Namespace> Namespaces(IKubernetes client, string? labelSelector, TimeSpan? watchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var timeoutSeconds = TimeoutSeconds(watchTimeout);
        return new DelegateSource<V1Namespace>(
            Describe("namespaces", null, labelSelector),
            async ct =>
            {
                var list = await client.CoreV1.ListNamespaceAsync(labelSelector: labelSelector, cancellationToken: ct);
                return new ResourceList<V1Namespace>([.. list.Items], list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.WatchAsync<V1Namespace>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "namespaces"), rv, labelSelector, null, timeoutSeconds),
                onError, ct));
    }

    /// <summary>ConfigMaps of one namespace, or of all; <paramref name="fieldSelector"/> such as <c>metadata.name=x</c> narrows them to one name.</summary>
    /// <param name="namespace">Null or empty for all namespaces.</param>
    public static IResourceSource<V1ConfigMap> ConfigMaps(IKubernetes client, string? @namespace, string? fieldSelector, TimeSpan? watchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var timeoutSeconds = TimeoutSeconds(watchTimeout);
        var all = string.IsNullOrEmpty(@namespace);
        return new DelegateSource<V1ConfigMap>(
            Describe("configmaps", @namespace, null) + (string.IsNullOrEmpty(fieldSelector) ? string.Empty : $" with {fieldSelector}"),
            async ct =>
            {
                var list = all
                    ? await client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: fieldSelector, cancellationToken: ct)
                    : await client.CoreV1.ListNamespacedConfigMapAsync(@namespace, fieldSelector: fieldSelector, cancellationToken: ct);
                return new ResourceList<V1ConfigMap>([.. list.Items], list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.WatchAsync<V1ConfigMap>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "configmaps", @namespace), rv, null, fieldSelector, timeoutSeconds),
                onError, ct));
    }

    /// <summary>The one Secret <paramref name="name"/> of a namespace (list and watch narrowed to it, so RBAC may name it).</summary>
    public static IResourceSource<V1Secret> Secret(IKubernetes client, string @namespace, string name, TimeSpan? watchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var timeoutSeconds = TimeoutSeconds(watchTimeout);
        var fieldSelector = "metadata.name=" + name;
        return new DelegateSource<V1Secret>(
            $"secret {@namespace}/{name}",
            async ct =>
            {
                var list = await client.CoreV1.ListNamespacedSecretAsync(@namespace, fieldSelector: fieldSelector, cancellationToken: ct);
                return new ResourceList<V1Secret>([.. list.Items], list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.WatchAsync<V1Secret>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "secrets", @namespace), rv, null, fieldSelector, timeoutSeconds),
                onError, ct));
    }

    /// <summary>Whole seconds (at least one) of <paramref name="watchTimeout"/>, <see cref="WatchTimeoutSeconds"/> when null.</summary>
    private static int TimeoutSeconds(TimeSpan? watchTimeout) =>
        watchTimeout is { } timeout ? Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)) : WatchTimeoutSeconds;

    private static string Describe(string kind, string? ns, string? selector) =>
        $"{kind} in {(string.IsNullOrEmpty(ns) ? "all namespaces" : "namespace " + ns)}" +
        (string.IsNullOrEmpty(selector) ? string.Empty : $" matching '{selector}'");

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
