using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;
using Sidecars.Kubernetes;

namespace Sidecars.Kubernetes.Tests;

/// <summary>The wait's loop over scripted lists and watches: what it does when a watch goes silent.</summary>
public sealed class KubernetesWaitTests
{
    [Fact]
    public async Task A_watch_that_never_delivers_nor_ends_is_given_up_after_its_span_and_the_wait_lists_again()
    {
        var lists = 0;
        var watches = 0;
        Task<(IList<V1Pod>, string)> ListAsync(CancellationToken ct)
        {
            // The first list shows the pod Pending; by the second it runs, a change the silent watch never delivers.
            var phase = Interlocked.Increment(ref lists) == 1 ? "Pending" : "Running";
            return Task.FromResult<(IList<V1Pod>, string)>(([Pod(phase)], lists.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        IAsyncEnumerable<(WatchEventType, V1Pod)> CountedSilentWatch(string rv, Action<Exception> onError, CancellationToken ct)
        {
            Interlocked.Increment(ref watches);
            return SilentWatch(rv, onError, ct);
        }

        var found = await KubernetesWait.UntilAsync<V1Pod>(
            ListAsync, CountedSilentWatch, pods => pods.Count == 1 && pods[0].Status.Phase == "Running",
            pods => string.Join(", ", pods.Select(p => p.Status.Phase)), "pod web-0 to run",
            timeout: TimeSpan.FromSeconds(30), watchSpan: TimeSpan.FromMilliseconds(200));

        Assert.Equal("Running", Assert.Single(found).Status.Phase);
        Assert.Equal((2, 1), (lists, watches));
    }

    [Fact]
    public async Task A_silent_watch_does_not_outlast_the_wait_s_own_timeout()
    {
        Task<(IList<V1Pod>, string)> ListAsync(CancellationToken ct) => Task.FromResult<(IList<V1Pod>, string)>(([Pod("Pending")], "1"));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => KubernetesWait.UntilAsync<V1Pod>(
            ListAsync, SilentWatch, pods => pods.Any(p => p.Status.Phase == "Running"),
            pods => string.Join(", ", pods.Select(p => p.Status.Phase)), "pod web-0 to run",
            timeout: TimeSpan.FromMilliseconds(700), watchSpan: TimeSpan.FromMilliseconds(200)));

        Assert.Contains("pod web-0 to run", error.Message, StringComparison.Ordinal);
        Assert.Contains("Last seen: [Pending]", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A watch that neither delivers nor ends until it is cancelled.</summary>
    private static async IAsyncEnumerable<(WatchEventType, V1Pod)> SilentWatch(string rv, Action<Exception> onError, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Delay(Timeout.Infinite, ct);
        yield break;
    }

    private static V1Pod Pod(string phase) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web-0", NamespaceProperty = "team-a" },
        Status = new V1PodStatus { Phase = phase },
    };
}
