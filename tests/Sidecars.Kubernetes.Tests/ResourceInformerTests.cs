using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Sidecars.Kubernetes;

namespace Sidecars.Kubernetes.Tests;

/// <summary>The informer's loop over a scripted source: what it does when a watch stops delivering.</summary>
public sealed class ResourceInformerTests
{
    [Fact]
    public async Task A_watch_that_sends_nothing_past_the_stall_limit_is_resumed_from_its_resourceVersion()
    {
        var source = new StallingSource();
        await using var informer = new ResourceInformer<V1Pod>(source, NullLogger.Instance, stallLimit: TimeSpan.FromMilliseconds(300));
        var added = new TaskCompletionSource<V1Pod>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = informer.Subscribe(e => added.TrySetResult(e.Item));

        informer.Start();
        var pod = await added.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("web-0", pod.Metadata.Name);
        Assert.Equal(["7", "7"], source.WatchedFrom);
        var statistics = informer.Statistics;
        Assert.Equal((1, 2, 1), (statistics.Lists, statistics.Watches, statistics.Stalls));
    }

    /// <summary>Lists nothing at resourceVersion 7; its first watch stays silent until cancelled, later ones deliver one pod.</summary>
    private sealed class StallingSource : IResourceSource<V1Pod>
    {
        private readonly List<string> _watchedFrom = [];

        public string Description => "pods (scripted)";

        public IReadOnlyList<string> WatchedFrom
        {
            get
            {
                lock (_watchedFrom)
                {
                    return [.. _watchedFrom];
                }
            }
        }

        public Task<ResourceList<V1Pod>> ListAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new ResourceList<V1Pod>([], "7"));

        public IAsyncEnumerable<(WatchEventType Type, V1Pod Object)> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken)
        {
            int count;
            lock (_watchedFrom)
            {
                _watchedFrom.Add(resourceVersion);
                count = _watchedFrom.Count;
            }

            return count == 1 ? SilentAsync(cancellationToken) : DeliverAsync(cancellationToken);
        }

        private static async IAsyncEnumerable<(WatchEventType, V1Pod)> SilentAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        private static async IAsyncEnumerable<(WatchEventType, V1Pod)> DeliverAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            yield return (WatchEventType.Added, new V1Pod { Metadata = new V1ObjectMeta { Name = "web-0", NamespaceProperty = "team-a", ResourceVersion = "8" } });
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
