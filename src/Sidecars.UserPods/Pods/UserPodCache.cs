using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sidecars.Kubernetes;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Pods;

/// <summary>
/// The user pods as one shared informer sees them (list+watch of the namespace, never a watch per request), and
/// waits on their changes. Every wait ends on the awaited change, the deadline or the caller's cancellation.
/// </summary>
public sealed class UserPodCache(IServiceProvider services, IOptions<UserPodsOptions> options)
{
    private readonly Lazy<ResourceInformer<V1Pod>?> _informer = new(() =>
    {
        try
        {
            return services.GetRequiredService<SharedInformerFactory>().Pods(options.Value.Namespace, UserPodKeys.PodSelector);
        }
        catch (Exception e) when (e is InvalidOperationException or k8s.Exceptions.KubeConfigException or IOException)
        {
            return null;
        }
    });

    private int _waiters;

    /// <summary>Waits in progress (each belongs to a request); zero when no request is waiting.</summary>
    public int ActiveWaiters => Volatile.Read(ref _waiters);

    public async Task<ResourceInformer<V1Pod>> ReadyAsync(CancellationToken cancellationToken)
    {
        var informer = _informer.Value
            ?? throw new UserPodsException(UserPodsError.Unavailable, "user pods are unavailable: no Kubernetes configuration was found");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await informer.WaitForSyncAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UserPodsException(UserPodsError.Unavailable, $"user pods are unavailable: cannot list pods in namespace {options.Value.Namespace}");
        }

        return informer;
    }

    public async Task<V1Pod?> FindAsync(string name, CancellationToken cancellationToken)
    {
        var informer = await ReadyAsync(cancellationToken);
        return informer.TryGet(options.Value.Namespace, name, out var pod) ? pod : null;
    }

    public async Task<IReadOnlyList<V1Pod>> AllAsync(CancellationToken cancellationToken) =>
        (await ReadyAsync(cancellationToken)).Snapshot();

    /// <summary>
    /// Waits until <paramref name="done"/> holds for the pod (null once it is gone) and returns the pod (or null);
    /// at <paramref name="deadline"/> returns <paramref name="onTimeout"/> = true with the last state.
    /// </summary>
    public async Task<(V1Pod? Pod, bool TimedOut)> WaitAsync(
        string name, Func<V1Pod?, bool> done, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var informer = await ReadyAsync(cancellationToken);
        var ns = options.Value.Namespace;
        var outcome = new TaskCompletionSource<V1Pod?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _waiters);
        try
        {
            using var subscription = informer.Subscribe(e =>
            {
                if (e.Item.Metadata.Name != name || e.Item.Metadata.NamespaceProperty != ns)
                {
                    return;
                }

                var current = e.Type == ResourceEventType.Deleted ? null : e.Item;
                if (done(current))
                {
                    outcome.TrySetResult(current);
                }
            });

            var now = informer.TryGet(ns, name, out var pod) ? pod : null;
            if (done(now))
            {
                return (now, false);
            }

            var remaining = deadline - DateTimeOffset.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return (now, true);
            }

            try
            {
                return (await outcome.Task.WaitAsync(remaining, cancellationToken), false);
            }
            catch (TimeoutException)
            {
                return (informer.TryGet(ns, name, out var last) ? last : null, true);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }
}
