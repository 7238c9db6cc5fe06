using k8s;
using k8s.Models;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The real-node lane with Sidecars installed from deploy/ as shipped (<c>kubectl apply -k</c> of its Kubernetes 1.20
/// overlay; its registry name is served by the lane's local registry): the webhook and the cluster agent as pods from
/// their images. Starts the lane when it does not run, and then stops it again after the tests.
/// </summary>
public sealed class RealNodeFixture : IAsyncLifetime
{
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan LaneWait = TimeSpan.FromMinutes(60);

    private LaneCluster? _cluster;
    private IDisposable? _laneLock;
    private bool _startedLane;

    public LaneCluster Cluster => _cluster ?? throw new InvalidOperationException("the lane has not started");

    public async Task InitializeAsync()
    {
        if (new RealNodeFactAttribute().Skip is not null)
        {
            return;
        }

        _laneLock = await Lane.AcquireAsync(LaneWait);
        var kubeconfig = await Lane.StatusAsync();
        if (kubeconfig is null)
        {
            _startedLane = true;
            try
            {
                kubeconfig = await Lane.UpAsync();
            }
            catch
            {
                // A half-started lane is taken down here: a fixture that failed to start is not disposed.
                await Lane.DownAsync();
                _laneLock.Dispose();
                throw;
            }
        }

        _cluster = new LaneCluster(kubeconfig);
        await SidecarsInstall.ApplyAsync(_cluster, InstallTimeout);
    }

    public async Task DisposeAsync()
    {
        _cluster?.Dispose();
        try
        {
            if (_startedLane)
            {
                await Lane.DownAsync();
            }
        }
        finally
        {
            _laneLock?.Dispose();
        }
    }

    /// <summary>A namespace whose pods the webhook must mutate (it fails closed there).</summary>
    public Task<string> NewInjectedNamespaceAsync(string prefix) =>
        Cluster.NewNamespaceAsync(prefix, new Dictionary<string, string> { ["sidecars.io/injection"] = "enabled" });

    /// <summary>Applies a manifest with kubectl and waits until the pod is Ready; returns it and the time that took.</summary>
    public async Task<(V1Pod Pod, TimeSpan Elapsed)> ApplyUntilReadyAsync(string ns, string name, string manifest, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Cluster.KubectlAsync(["apply", "-n", ns, "-f", "-"], manifest);
        try
        {
            var pod = await Cluster.Client.WaitForPodAsync(ns, name, p => p is not null && p.IsReady(), $"pod {ns}/{name} Ready", timeout);
            return (pod!, clock.Elapsed);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(
                $"{e.Message}\nevents:\n{string.Join('\n', await Cluster.EventsOfAsync(ns, name))}\nlogs:\n{await Cluster.LogTailsOfAsync(ns, name)}", e);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RealNodeCollection : ICollectionFixture<RealNodeFixture>
{
    public const string Name = "real node";
}
