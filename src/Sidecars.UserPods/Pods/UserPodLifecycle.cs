using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Controllers;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Tokens;

namespace Sidecars.UserPods.Pods;

/// <summary>
/// Keeps the create timeout independent of any request, also across restarts: a pod that never became Ready is
/// deleted with its resources once its creation time plus the create timeout has passed, and a pod seen Ready is
/// marked so it is never reaped later. Pod events queue the pod; a reconcile reads the informer's view, acts on
/// <see cref="LifecycleStep.Decide"/>, and asks to be queued again at the pod's deadline. A pod gone from the
/// informer drops its cached tokens. A pod whose creation never finished (<see cref="UserPodKeys.Creating"/> left on it
/// because the process creating it died between the pod and its Service or Ingress) is deleted at the same deadline,
/// Ready or not, so no half-created pod outlives the create timeout.
/// </summary>
public sealed partial class UserPodLifecycle(
    UserPodCache cache,
    UserPodResources resources,
    TokenCache tokens,
    TimeProvider time,
    IOptions<UserPodsOptions> options,
    ILogger<UserPodLifecycle> logger) : BackgroundService
{
    /// <summary>Pods reconciled side by side (each by one worker at a time).</summary>
    private const int Workers = 2;

    /// <summary>Margin after a deadline so the pod is looked at once it has passed.</summary>
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ResourceInformer<V1Pod> informer;
        try
        {
            informer = await cache.ReadyAsync(stoppingToken);
        }
        catch (UserPodsException e)
        {
            Log.Unavailable(logger, e.Message);
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }

        using var queue = new WorkQueue<PodKey>("user-pods", time);
        using var subscription = informer.Subscribe(e => queue.Add(new PodKey(e.Item.Metadata.Name, e.Item.Metadata.Uid)), replay: true);
        await ReconcileLoop.RunAsync(queue, Workers, (key, ct) => ReconcileAsync(informer, key, ct), logger, stoppingToken);
    }

    private async Task<Reconciled> ReconcileAsync(ResourceInformer<V1Pod> informer, PodKey key, CancellationToken ct)
    {
        if (!informer.TryGet(options.Value.Namespace, key.Name, out var pod) || pod is null || pod.Metadata.Uid != key.Uid)
        {
            tokens.Forget(key.Uid);
            return Reconciled.Done;
        }

        var now = time.GetUtcNow();
        var step = LifecycleStep.Decide(pod, now, options.Value.CreateTimeout);
        switch (step.Action)
        {
            case LifecycleAction.MarkReady:
                await resources.MarkReadyAsync(pod, now, ct);
                break;
            case LifecycleAction.Reap:
                UserPodsMetrics.PodsReaped.Inc();
                if (PodState.IsCreating(pod))
                {
                    Log.ReapedUnfinished(logger, pod.Metadata.NamespaceProperty, pod.Metadata.Name, options.Value.CreateTimeout.TotalSeconds);
                }
                else
                {
                    Log.Reaped(logger, pod.Metadata.NamespaceProperty, pod.Metadata.Name, options.Value.CreateTimeout.TotalSeconds);
                }

                await resources.DeleteAllAsync(pod.Metadata.Name, ct);
                break;
            case LifecycleAction.Wait:
                return Reconciled.After(step.Deadline - now + DeadlineMargin);
        }

        return Reconciled.Done;
    }

    private readonly record struct PodKey(string Name, string Uid)
    {
        public override string ToString() => $"{Name} ({Uid})";
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "User pods lifecycle is not running: {Reason}")]
        public static partial void Unavailable(ILogger logger, string reason);

        [LoggerMessage(2, LogLevel.Warning, "User pod {Namespace}/{Name} was not Ready within {Seconds}s of its creation; deleting it")]
        public static partial void Reaped(ILogger logger, string @namespace, string name, double seconds);

        [LoggerMessage(3, LogLevel.Warning, "User pod {Namespace}/{Name}: its creation did not finish (its Service or Ingress was never confirmed) within {Seconds}s of its creation; deleting it")]
        public static partial void ReapedUnfinished(ILogger logger, string @namespace, string name, double seconds);
    }
}
