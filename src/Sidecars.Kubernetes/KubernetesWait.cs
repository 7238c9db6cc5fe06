using System.Diagnostics;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sidecars.Kubernetes;

/// <summary>
/// Waits for objects to reach a condition by list-then-watch (never by sleeping), failing after a bounded time with
/// a message that says what was awaited and what was last seen.
/// </summary>
public static class KubernetesWait
{
    /// <summary>
    /// How long one watch of a wait is trusted before the wait lists again. kube-apiserver closes a watcher that falls
    /// ten events behind ("Forcing watcher close due to unresponsiveness"), and under load the end of such a stream
    /// has reached the client seconds late or not at all; a wait that only watched would then see nothing more.
    /// </summary>
    public static readonly TimeSpan WatchSpan = TimeSpan.FromSeconds(20);

    /// <summary>Waits until <paramref name="condition"/> holds for the named Deployment.</summary>
    public static async Task<V1Deployment> ForDeploymentAsync(
        this IKubernetes client, string ns, string name, Func<V1Deployment, bool> condition,
        string description, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var items = await UntilAsync(
            async token =>
            {
                var list = await client.AppsV1.ListNamespacedDeploymentAsync(ns, fieldSelector: "metadata.name=" + name, cancellationToken: token);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, token) => client.WatchAsync<V1Deployment>(
                new WatchRequest(KubernetesWatch.CollectionPath("apps", "v1", "deployments", ns), rv, FieldSelector: "metadata.name=" + name),
                onError, token),
            list => list.Count == 1 && condition(list[0]),
            list => string.Join("; ", list.Select(d =>
                $"{d.Metadata.Name}: ready {d.Status?.ReadyReplicas ?? 0}/{d.Spec?.Replicas ?? 1}, available {d.Status?.AvailableReplicas ?? 0}")),
            description, timeout, cancellationToken: cancellationToken);
        return items[0];
    }

    /// <summary>
    /// List, then watch from the list's resourceVersion keeping a name → object view, until the condition holds.
    /// Relists when the watch ends or fails (410 Gone included), when a list fails on the connection, and after each
    /// <see cref="WatchSpan"/> of watching.
    /// </summary>
    /// <param name="watchSpan">How long one watch is trusted; <see cref="WatchSpan"/> when null.</param>
    /// <exception cref="TimeoutException">The condition did not hold within <paramref name="timeout"/>.</exception>
    public static async Task<IReadOnlyList<T>> UntilAsync<T>(
        Func<CancellationToken, Task<(IList<T> Items, string ResourceVersion)>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Func<IReadOnlyList<T>, bool> condition,
        Func<IReadOnlyList<T>, string> describe,
        string description,
        TimeSpan timeout,
        TimeSpan? watchSpan = null,
        CancellationToken cancellationToken = default)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(list);
        ArgumentNullException.ThrowIfNull(watch);
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(describe);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
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

                using var span = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                span.CancelAfter(watchSpan ?? WatchSpan);
                try
                {
                    await foreach (var (type, item) in watch(resourceVersion, _ => { }, span.Token))
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
                catch (OperationCanceledException) when (span.IsCancellationRequested && !deadline.IsCancellationRequested)
                {
                    // This watch's span is over: list again, whatever the stream is doing.
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Timed out after {elapsed.Elapsed.TotalSeconds:0}s waiting for {description}. Last seen: [{describe(Snapshot())}]");
        }
    }

    private static bool IsConnectionFailure(Exception e) => 
        e is HttpRequestException or IOException or HttpOperationException { Response.StatusCode: HttpStatusCode.Gone };
}
