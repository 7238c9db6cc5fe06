using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>Graceful deletion and teardown of the pod.</summary>
internal sealed partial class PodWorker
{
    private async Task TerminateAsync()
    {
        _terminating = true;
        var seconds = _pod.Metadata.DeletionGracePeriodSeconds ?? _pod.Spec.TerminationGracePeriodSeconds ?? 30;
        var grace = TimeSpan.FromSeconds(Math.Max(0, seconds));
        if (grace > _context.Options.MaxTerminationGrace)
        {
            grace = _context.Options.MaxTerminationGrace;
        }

        try
        {
            await KillAllAsync(grace);
        }
        finally
        {
            // The sandbox goes before the pod object, so whoever sees the pod gone may reuse its address; the pod
            // object goes even when stopping a process failed.
            ReleaseAddress();
            await DeletePodAsync();
        }
    }

    private async Task DeletePodAsync()
    {
        try
        {
            await _context.Client.CoreV1.DeleteNamespacedPodAsync(
                Name, Namespace,
                new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = _pod.Metadata.Uid } },
                cancellationToken: _lifetime.Token);
            Log.PodTerminated(_context.Logger, Namespace, Name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Already gone, or a new pod took the name.
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException
            || (e is OperationCanceledException && !_lifetime.IsCancellationRequested))
        {
            Log.StatusPatchFailed(_context.Logger, Namespace, Name, "final delete failed, retrying: " + e.Message);
            PostAfter(TimeSpan.FromSeconds(1), DeletePodAsync);
        }
    }

    private async Task OnGoneAsync()
    {
        _terminating = true;
        await KillAllAsync(TimeSpan.FromSeconds(1));
        ReleaseAddress();
        _done = true;
        _work.Writer.TryComplete();
        await _lifetime.CancelAsync();
    }

    private async Task KillAllAsync(TimeSpan grace)
    {
        var stops = new List<Task>();
        foreach (var container in _initContainers.Concat(_containers))
        {
            container.StopProbes();
            if (container.Process is { } process)
            {
                container.Process = null;
                stops.Add(StopAsync(process, grace));
            }
        }

        await Task.WhenAll(stops);
    }

    private static async Task StopAsync(LoggedProcess process, TimeSpan grace)
    {
        await process.StopAsync(grace);
        await process.DisposeAsync();
    }

    private void ReleaseAddress()
    {
        if (_ip is { } ip)
        {
            _context.Addresses.Release(ip);
            _ip = null;
        }
    }
}
