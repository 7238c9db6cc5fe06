using System.Diagnostics;
using Grpc.Core;
using k8s;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Admin;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>
/// Scenario 2: the cluster agent process killed (SIGKILL) while CreateCluster waiters wait and a DeleteCluster runs, then
/// started again. Waiters that repeat their call get the true outcome; a create that cannot finish is failed and its
/// Deployment deleted once its deadline (stored on the Deployment) passes; nothing is left behind.
/// </summary>
[Collection(FaultsCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ClusterAgentKilledDuringClusterOperationsTests(ControlPlaneFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Available = ["alpha", "beta", "gamma"];
    private const string Stuck = "stuck";
    private const string Doomed = "doomed";
    private const int StuckTimeoutSeconds = 60;

    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Waiters_that_reconnect_get_the_true_outcome_and_nothing_is_orphaned()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var ct = timeout.Token;
        var ns = await fixture.NewNamespaceAsync("fault-cluster-agent", ct: ct);
        var node = await ClusterFaults.NodeAsync(fixture.Client, ct);
        var gate = "fault.sidecars.io/" + ns;
        using var pki = new TestPki(_directory.File("pki"));
        await using var agent = new ClusterAgentProcess(pki, _directory.File("agent"), new Dictionary<string, string>
        {
            ["Sidecars__Kubernetes__KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
            ["Sidecars__Identity__Store"] = "File",
            ["Sidecars__Clusters__Namespace"] = ns,
            ["Sidecars__Networks__Namespace"] = ns,
            ["Sidecars__Leadership__Namespace"] = ns,
            ["Sidecars__Leadership__LeaseDuration"] = "00:00:10",
            ["Sidecars__Leadership__RenewDeadline"] = "00:00:08",
            ["Sidecars__Leadership__RetryPeriod"] = "00:00:00.500",
        });
        await agent.StartAsync(ct);
        using var channel = AdminCredentials.CreateChannel(agent.Address, pki.AdminClient, pki.ServerRoots);
        var clusters = new Contracts.V1.Clusters.ClustersClient(channel);
        try
        {
            Assert.Equal(ClusterState.Available, (await clusters.CreateClusterAsync(Request(Doomed, gated: false), cancellationToken: ct)).State);

            // In flight when the process dies: three creates waiting for a node label, one that can never finish, a delete.
            var calls = Available.Select(name => clusters.CreateClusterAsync(Request(name, gated: true, gate), cancellationToken: ct).ResponseAsync)
                .Append(clusters.CreateClusterAsync(StuckRequest(), cancellationToken: ct).ResponseAsync)
                .ToList();
            foreach (var name in Available.Append(Stuck))
            {
                await ClusterFaults.WaitForStateAsync(clusters, name, c => c.State == ClusterState.CreateInProgress && c.Pods == 2, ct);
            }

            var delete = clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = Doomed }, cancellationToken: ct).ResponseAsync;
            await agent.KillAsync();
            var killed = Stopwatch.StartNew();
            foreach (var call in calls)
            {
                var error = await Assert.ThrowsAsync<RpcException>(() => call);
                Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            }

            // The delete may have been answered before the kill; if not, it lost its answer (repeated below).
            await Task.WhenAny(delete);
            await agent.StartAsync(ct);
            await ClusterFaults.LabelNodeAsync(fixture.Client, node, gate, "open", ct);

            // Every waiter repeats its call and gets the outcome Kubernetes shows.
            var answers = await Task.WhenAll(Available.Select(name => RepeatAsync(() => clusters.CreateClusterAsync(Request(name, gated: true, gate), cancellationToken: ct).ResponseAsync, ct)));
            var recovered = killed.Elapsed;
            Assert.All(answers, a => Assert.Equal((ClusterState.Available, 2), (a.State, a.AvailableReplicas)));
            var repeatedDelete = await RepeatAsync(async () =>
            {
                try
                {
                    return (await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = Doomed }, cancellationToken: ct)).Gone;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                {
                    return true;
                }
            }, ct);
            Assert.True(repeatedDelete);

            var stuck = await Assert.ThrowsAsync<RpcException>(() => RepeatAsync(() => clusters.CreateClusterAsync(StuckRequest(), cancellationToken: ct).ResponseAsync, ct));
            Assert.Equal(StatusCode.DeadlineExceeded, stuck.StatusCode);
            output.WriteLine($"from SIGKILL to every repeated create answered Available: {recovered.TotalSeconds:0.0} s");

            // Nothing orphaned: the timed-out create's Deployment is deleted, the deleted cluster's is gone.
            await Eventually.UntilAsync(
                async () => (await fixture.Client.AppsV1.ListNamespacedDeploymentAsync(ns, cancellationToken: ct)).Items.Select(d => d.Metadata.Name).Order().SequenceEqual(Available.Order()),
                "only the available clusters' Deployments remain", TimeSpan.FromMinutes(3), ct);
        }
        finally
        {
            await ClusterFaults.LabelNodeAsync(fixture.Client, node, gate, null, CancellationToken.None);
        }
    }

    public void Dispose() => _directory.Dispose();

    private static CreateClusterRequest Request(string name, bool gated, string? gate = null)
    {
        var request = new CreateClusterRequest { Name = name, Replicas = 2, Image = "example.local/app:1" };
        if (gated)
        {
            request.NodeSelector[gate!] = "open";
        }

        return request;
    }

    /// <summary>Never schedulable; deleted when its deadline passes.</summary>
    private static CreateClusterRequest StuckRequest()
    {
        var request = Request(Stuck, gated: true, "fault.sidecars.io/never");
        request.TimeoutSeconds = StuckTimeoutSeconds;
        request.OnTimeout = TimeoutAction.Delete;
        return request;
    }

    /// <summary>A call repeated while the restarted agent is not listening yet or not leading yet.</summary>
    private static async Task<T> RepeatAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
        }
    }
}
