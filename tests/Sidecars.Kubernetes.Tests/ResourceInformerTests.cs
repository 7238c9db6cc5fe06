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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_watch_resumed_from_an_expired_resourceVersion_relists_and_delivers_what_changed_meanwhile(bool inStream)
    {
        var source = new ExpiringSource(inStream);
        await using var informer = new ResourceInformer<V1Pod>(source, NullLogger.Instance);
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(ResourceEventType, string)>();
        var relisted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = informer.Subscribe(e =>
        {
            seen.Enqueue((e.Type, e.Item.Metadata.Name));
            if (e.Type == ResourceEventType.Deleted)
            {
                relisted.TrySetResult();
            }
        });

        informer.Start();
        await relisted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await source.ThirdWatch.WaitAsync(TimeSpan.FromSeconds(30));

        // The first watch ended cleanly after web-1; resumed from its resourceVersion it was expired, so the informer
        // listed again (web-2 created and web-1 deleted meanwhile) and watched from the new list.
        Assert.Equal(["7", "8", "20"], source.WatchedFrom);
        Assert.Equal(
            [(ResourceEventType.Added, "web-0"), (ResourceEventType.Added, "web-1"), (ResourceEventType.Modified, "web-0"), (ResourceEventType.Added, "web-2"), (ResourceEventType.Deleted, "web-1")],
            seen.ToArray());
        Assert.Equal(["web-0", "web-2"], informer.Snapshot().Select(p => p.Metadata.Name).Order());
        var statistics = informer.Statistics;
        Assert.Equal((2, 3, 1, 0), (statistics.Lists, statistics.Watches, statistics.Expirations, statistics.Errors));
    }

    private static V1Pod Pod(string name, string resourceVersion) =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "team-a", ResourceVersion = resourceVersion } };

    /// <summary>
    /// Lists web-0 at 7; its first watch delivers web-1 (8) and ends as a server's timeout ends it; a watch resumed from 8
    /// is answered 410 Gone, in the stream (as an apiserver without a watch cache answers a compacted revision) or as
    /// the watch request's status; the second list holds web-0 and web-2 at 20; later watches stay open.
    /// </summary>
    private sealed class ExpiringSource(bool inStream) : IResourceSource<V1Pod>
    {
        private readonly List<string> _watchedFrom = [];
        private readonly TaskCompletionSource _thirdWatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _lists;

        public string Description => "pods (scripted, expiring)";

        public Task ThirdWatch => _thirdWatch.Task;

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
            Task.FromResult(Interlocked.Increment(ref _lists) == 1
                ? new ResourceList<V1Pod>([Pod("web-0", "5")], "7")
                : new ResourceList<V1Pod>([Pod("web-0", "5"), Pod("web-2", "19")], "20"));

        public IAsyncEnumerable<(WatchEventType Type, V1Pod Object)> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken)
        {
            int count;
            lock (_watchedFrom)
            {
                _watchedFrom.Add(resourceVersion);
                count = _watchedFrom.Count;
            }

            return count switch
            {
                1 => EndsAfterOneAsync(),
                2 => inStream ? ExpiredAsync(onError) : RefusedAsync(),
                _ => OpenAsync(cancellationToken),
            };
        }

        private static async IAsyncEnumerable<(WatchEventType, V1Pod)> EndsAfterOneAsync()
        {
            await Task.Yield();
            yield return (WatchEventType.Added, Pod("web-1", "8"));
        }

        private static async IAsyncEnumerable<(WatchEventType, V1Pod)> ExpiredAsync(Action<Exception> onError)
        {
            await Task.Yield();
            onError(new KubernetesException(new V1Status { Code = 410, Reason = "Expired", Message = "too old resource version: 8 (15)" }));
            yield break;
        }

        private static async IAsyncEnumerable<(WatchEventType, V1Pod)> RefusedAsync()
        {
            await Task.Yield();
            throw new k8s.Autorest.HttpOperationException("Operation returned an invalid status code 'Gone'")
            {
                Response = new k8s.Autorest.HttpResponseMessageWrapper(new HttpResponseMessage(System.Net.HttpStatusCode.Gone), string.Empty),
            };
#pragma warning disable CS0162 // An iterator needs a yield.
            yield break;
#pragma warning restore CS0162
        }

        private async IAsyncEnumerable<(WatchEventType, V1Pod)> OpenAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            _thirdWatch.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }
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
