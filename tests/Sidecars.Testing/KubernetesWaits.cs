using System.Diagnostics;
using k8s;
using k8s.Models;

namespace Sidecars.Testing;

/// <summary>
/// Waits for objects to reach a condition by list-then-watch (never by sleeping), failing after a bounded time with
/// a message that says what was awaited and what was last seen.
/// </summary>
public static class KubernetesWaits
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

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
            (rv, onError, token) => client.CoreV1.WatchListNamespacedPodAsync(
                ns, labelSelector: labelSelector, resourceVersion: rv, allowWatchBookmarks: true, onError: onError, cancellationToken: token),
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
            (rv, onError, token) => client.CoreV1.WatchListNamespacedPodAsync(
                ns, fieldSelector: "metadata.name=" + name, resourceVersion: rv, allowWatchBookmarks: true, onError: onError, cancellationToken: token),
            items => condition(items.Count > 0 ? items[0] : default), items => string.Join("; ", items.Select(Describe)), description, timeout, ct);
        return pods.Count > 0 ? pods[0] : null;
    }

    public static async Task<V1Deployment> WaitForDeploymentAsync(
        this IKubernetes client, string ns, string name, Func<V1Deployment, bool> condition,
        string description, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var items = await WaitAsync(
            async token =>
            {
                var list = await client.AppsV1.ListNamespacedDeploymentAsync(ns, fieldSelector: "metadata.name=" + name, cancellationToken: token);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, token) => client.AppsV1.WatchListNamespacedDeploymentAsync(
                ns, fieldSelector: "metadata.name=" + name, resourceVersion: rv, allowWatchBookmarks: true, onError: onError, cancellationToken: token),
            list => list.Count == 1 && condition(list[0]),
            list => string.Join("; ", list.Select(d => $"{d.Metadata.Name}: ready {d.Status?.ReadyReplicas ?? 0}/{d.Spec.Replicas}, available {d.Status?.AvailableReplicas ?? 0}")),
            description, timeout, ct);
        return items[0];
    }

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
            (rv, onError, token) => client.BatchV1.WatchListNamespacedJobAsync(
                ns, fieldSelector: "metadata.name=" + name, resourceVersion: rv, allowWatchBookmarks: true, onError: onError, cancellationToken: token),
            list => list.Count == 1 && condition(list[0]),
            list => string.Join("; ", list.Select(j => $"{j.Metadata.Name}: succeeded {j.Status?.Succeeded ?? 0}, active {j.Status?.Active ?? 0}")),
            description, timeout, ct);
        return items[0];
    }

    public static bool IsReady(this V1Pod pod) =>
        pod?.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    public static bool IsAvailable(this V1Deployment deployment) =>
        deployment.Status?.Conditions?.Any(c => c.Type == "Available" && c.Status == "True") == true
        && deployment.Status.AvailableReplicas == (deployment.Spec.Replicas ?? 1)
        && deployment.Status.UpdatedReplicas == (deployment.Spec.Replicas ?? 1);

    public static bool IsComplete(this V1Job job) =>
        job.Status?.Conditions?.Any(c => c.Type == "Complete" && c.Status == "True") == true;

    public static string Describe(V1Pod pod) =>
        $"{pod.Metadata.Name}: {pod.Status?.Phase ?? "-"} ip={pod.Status?.PodIP ?? "-"} ready={pod.IsReady()}" +
        (pod.Metadata.DeletionTimestamp is null ? string.Empty : " terminating");

    /// <summary>
    /// List, then watch from the list's resourceVersion keeping a name → object view, until the condition holds.
    /// Relists when the watch ends or fails (410 Gone included) and when a list fails on the connection.
    /// </summary>
    public static async Task<IReadOnlyList<T>> WaitAsync<T>(
        Func<CancellationToken, Task<(IList<T> Items, string ResourceVersion)>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Func<IReadOnlyList<T>, bool> condition,
        Func<IReadOnlyList<T>, string> describe,
        string description,
        TimeSpan? timeout = null,
        CancellationToken ct = default)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(list);
        ArgumentNullException.ThrowIfNull(watch);
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(describe);
        var limit = timeout ?? DefaultTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);
        var view = new SortedDictionary<string, T>(StringComparer.Ordinal);
        IReadOnlyList<T> Snapshot() => view.Values.ToList();
        var elapsed = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                IList<T> items;
                string resourceVersion;
                try
                {
                    (items, resourceVersion) = await list(deadline.Token);
                }
                catch (Exception e) when (IsConnectionFailure(e) && !deadline.IsCancellationRequested)
                {
                    // A loaded apiserver may reset the list's stream: back off a little and list again.
                    await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
                    continue;
                }

                view.Clear();
                foreach (var item in items)
                {
                    view[item.Metadata.Name] = item;
                }

                if (condition(Snapshot()))
                {
                    return Snapshot();
                }

                try
                {
                    await foreach (var (type, item) in watch(resourceVersion, _ => { }, deadline.Token))
                    {
                        if (type is WatchEventType.Bookmark or WatchEventType.Error || item?.Metadata?.Name is null)
                        {
                            continue;
                        }

                        if (type == WatchEventType.Deleted)
                        {
                            view.Remove(item.Metadata.Name);
                        }
                        else
                        {
                            view[item.Metadata.Name] = item;
                        }

                        if (condition(Snapshot()))
                        {
                            return Snapshot();
                        }
                    }
                }
                catch (Exception e) when (IsConnectionFailure(e) && !deadline.IsCancellationRequested)
                {
                    // The apiserver closed the watch stream (timeout, GOAWAY under load): list again and carry on.
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Timed out after {elapsed.Elapsed.TotalSeconds:0}s waiting for {description}. Last seen: [{describe(Snapshot())}]");
        }
    }

    private static bool IsConnectionFailure(Exception e) => e is HttpRequestException or IOException;
}
