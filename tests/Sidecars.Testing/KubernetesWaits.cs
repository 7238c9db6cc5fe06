using k8s;
using k8s.Models;
using Sidecars.Kubernetes;

namespace Sidecars.Testing;

/// <summary>
/// Waits for objects to reach a condition by list-then-watch (never by sleeping), failing after a bounded time with
/// a message that says what was awaited and what was last seen.
/// </summary>
public static class KubernetesWaits
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Waits until reading the object answers 404 (deletion by owner reference or finalizers is asynchronous).</summary>
    public static Task UntilGoneAsync<T>(Func<Task<T>> read, string description = "the object to be deleted", TimeSpan? timeout = null) =>
        Eventually.UntilAsync(async () =>
        {
            try
            {
                await read();
                return false;
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return true;
            }
        }, description, timeout ?? DefaultTimeout);

    /// <summary>Waits until <paramref name="condition"/> holds for the pods matching <paramref name="labelSelector"/>.</summary>
    public static Task<IReadOnlyList<V1Pod>> WaitForPodsAsync(
        this IKubernetes client, string ns, string? labelSelector, Func<IReadOnlyList<V1Pod>, bool> condition,
        string description, TimeSpan? timeout = null, CancellationToken ct = default) =>
        WaitAsync(
            async token =>
            {
                var list = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: labelSelector, cancellationToken: token);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, token) => client.WatchAsync<V1Pod>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "pods", ns), rv, LabelSelector: labelSelector), onError, token),
            condition, pods => string.Join("; ", pods.Select(Describe)), description, timeout, ct);

    /// <summary>Waits until <paramref name="condition"/> holds for the named pod (null once it is gone).</summary>
    public static async Task<V1Pod?> WaitForPodAsync(
        this IKubernetes client, string ns, string name, Func<V1Pod?, bool> condition,
        string description, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var pods = await WaitAsync(
            async token =>
            {
                var list = await client.CoreV1.ListNamespacedPodAsync(ns, fieldSelector: "metadata.name=" + name, cancellationToken: token);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, token) => client.WatchAsync<V1Pod>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "pods", ns), rv, FieldSelector: "metadata.name=" + name), onError, token),
            items => condition(items.Count > 0 ? items[0] : default), items => string.Join("; ", items.Select(Describe)), description, timeout, ct);
        return pods.Count > 0 ? pods[0] : null;
    }

    public static Task<V1Deployment> WaitForDeploymentAsync(
        this IKubernetes client, string ns, string name, Func<V1Deployment, bool> condition,
        string description, TimeSpan? timeout = null, CancellationToken ct = default) =>
        client.ForDeploymentAsync(ns, name, condition, description, timeout ?? DefaultTimeout, ct);

    public static async Task<V1Job> WaitForJobAsync(
        this IKubernetes client, string ns, string name, Func<V1Job, bool> condition,
        string description, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var items = await WaitAsync(
            async token =>
            {
                var list = await client.BatchV1.ListNamespacedJobAsync(ns, fieldSelector: "metadata.name=" + name, cancellationToken: token);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, token) => client.WatchAsync<V1Job>(
                new WatchRequest(KubernetesWatch.CollectionPath("batch", "v1", "jobs", ns), rv, FieldSelector: "metadata.name=" + name), onError, token),
            list => list.Count == 1 && condition(list[0]),
            list => string.Join("; ", list.Select(j => $"{j.Metadata.Name}: succeeded {j.Status?.Succeeded ?? 0}, active {j.Status?.Active ?? 0}")),
            description, timeout, ct);
        return items[0];
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the named node.</summary>
    public static async Task<V1Node> WaitForNodeAsync(
        this IKubernetes client, string name, Func<V1Node, bool> condition,
        string description, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var items = await WaitAsync(
            async token =>
            {
                var list = await client.CoreV1.ListNodeAsync(fieldSelector: "metadata.name=" + name, cancellationToken: token);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, token) => client.WatchAsync<V1Node>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "nodes", null), rv, FieldSelector: "metadata.name=" + name), onError, token),
            list => list.Count == 1 && condition(list[0]),
            list => string.Join("; ", list.Select(n => $"{n.Metadata.Name}: Ready={n.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status ?? "-"}")),
            description, timeout, ct);
        return items[0];
    }

    public static bool IsReady(this V1Pod pod) => KubernetesConditions.IsPodReady(pod);

    public static bool IsAvailable(this V1Deployment deployment) => KubernetesConditions.IsDeploymentAvailable(deployment);

    public static bool IsComplete(this V1Job job) =>
        job.Status?.Conditions?.Any(c => c.Type == "Complete" && c.Status == "True") == true;

    public static string Describe(V1Pod pod) =>
        $"{pod.Metadata.Name}: {pod.Status?.Phase ?? "-"} ip={pod.Status?.PodIP ?? "-"} ready={pod.IsReady()}" +
        (pod.Metadata.DeletionTimestamp is null ? string.Empty : " terminating");

    /// <summary>See <see cref="KubernetesWait.UntilAsync"/>; the timeout defaults to <see cref="DefaultTimeout"/>.</summary>
    public static Task<IReadOnlyList<T>> WaitAsync<T>(
        Func<CancellationToken, Task<(IList<T> Items, string ResourceVersion)>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Func<IReadOnlyList<T>, bool> condition,
        Func<IReadOnlyList<T>, string> describe,
        string description,
        TimeSpan? timeout = null,
        CancellationToken ct = default)
        where T : IKubernetesObject<V1ObjectMeta> =>
        KubernetesWait.UntilAsync(list, watch, condition, describe, description, timeout ?? DefaultTimeout, cancellationToken: ct);
}
