using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Kubernetes;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Tokens;

namespace Sidecars.UserPods.Pods;

/// <summary>
/// Keeps the create timeout independent of any request, also across restarts: a pod that never became Ready is
/// deleted with its resources once its creation time plus the create timeout has passed, and a pod seen Ready is
/// marked so it is never reaped later. Driven by the shared pod informer; sleeps until the next deadline or change.
/// </summary>
public sealed partial class UserPodLifecycle(
    UserPodCache cache,
    UserPodResources resources,
    TokenCache tokens,
    TimeProvider time,
    IOptions<UserPodsOptions> options,
    ILogger<UserPodLifecycle> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Kubernetes.ResourceInformer<k8s.Models.V1Pod> informer;
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

        var changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        using var subscription = informer.Subscribe(e =>
        {
            if (e.Type == ResourceEventType.Deleted)
            {
                tokens.Forget(e.Item.Metadata.Uid);
            }

            changed.Writer.TryWrite(true);
        });

        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await PassAsync(informer, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.PassFailed(logger, e);
                wait = TimeSpan.FromSeconds(5);
            }

            using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            if (wait != Timeout.InfiniteTimeSpan)
            {
                timer.CancelAfter(wait);
            }

            try
            {
                await changed.Reader.ReadAsync(timer.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The next deadline came.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Marks Ready pods, reaps expired ones and returns how long until the next deadline.</summary>
    private async Task<TimeSpan> PassAsync(Kubernetes.ResourceInformer<k8s.Models.V1Pod> informer, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        DateTimeOffset? next = null;
        foreach (var pod in informer.Snapshot())
        {
            if (pod.Metadata.DeletionTimestamp is not null || PodState.WasReady(pod))
            {
                continue;
            }

            if (PodState.IsReady(pod))
            {
                await resources.MarkReadyAsync(pod, now, ct);
                continue;
            }

            var deadline = PodState.CreateDeadline(pod, options.Value.CreateTimeout);
            if (deadline <= now)
            {
                UserPodsMetrics.PodsReaped.Inc();
                Log.Reaped(logger, pod.Metadata.NamespaceProperty, pod.Metadata.Name, options.Value.CreateTimeout.TotalSeconds);
                await resources.DeleteAllAsync(pod.Metadata.Name, ct);
            }
            else if (next is null || deadline < next)
            {
                next = deadline;
            }
        }

        return next is null ? Timeout.InfiniteTimeSpan : (next.Value - now) + TimeSpan.FromMilliseconds(50);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "User pods lifecycle is not running: {Reason}")]
        public static partial void Unavailable(ILogger logger, string reason);

        [LoggerMessage(2, LogLevel.Warning, "User pod {Namespace}/{Name} was not Ready within {Seconds}s of its creation; deleting it")]
        public static partial void Reaped(ILogger logger, string @namespace, string name, double seconds);

        [LoggerMessage(3, LogLevel.Error, "A pass over the user pods failed; retrying")]
        public static partial void PassFailed(ILogger logger, Exception exception);
    }
}
