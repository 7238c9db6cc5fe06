using System.Diagnostics;
using Grpc.Core;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Contracts.V1;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Networks.Tests;

/// <summary>Two cluster agents against the local control plane: one leads the controllers, both answer alike.</summary>
[Collection(ControlPlaneCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class HighAvailabilityTests(ControlPlaneFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>LeaseDuration + RetryPeriod as the test hosts configure them: the longest a dead leader stays unreplaced.</summary>
    private static readonly TimeSpan TakeoverBound = AgentHost.LeaseDuration + AgentHost.RetryPeriod;

    [Fact]
    public async Task One_replica_runs_the_controllers_both_answer_alike_and_the_other_takes_over()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        var ns = await fixture.NewNamespaceAsync("ha");
        var first = await StartAgentAsync(ns);
        await using var second = await StartAgentAsync(ns);
        try
        {
            var (leader, follower) = await LeaderAndFollowerAsync(first, second);

            // Exactly one runs the network controller, and the Lease names it.
            Assert.False(Elector(follower).IsLeader);
            Assert.NotNull(leader.Services.GetRequiredService<NetworkController>().ExecuteTask);
            Assert.Null(follower.Services.GetRequiredService<NetworkController>().ExecuteTask);
            var lease = await fixture.Client.CoordinationV1.ReadNamespacedLeaseAsync(LeadershipServiceCollectionExtensions.LeaseName(ElectedComponents.ClusterAgent), ns);
            Assert.Equal(Elector(leader).Identity, lease.Spec.HolderIdentity);
            Assert.Equal(Elector(leader).Identity, Elector(follower).Leader);

            // The leader joins a network; the follower lists the same members (recorded on the pods), joined at the same times.
            await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-kept", "net-kept", 3), ns);
            using (var formed = new CancellationTokenSource(Timeout))
            {
                await leader.Services.GetRequiredService<NetworkController>().WaitForAsync(s => s.Any(n => n.Id == "net-kept" && n.Members.Count == 3 && n.Pending == 0), formed.Token);
            }

            var members = await Networks(leader).GetNetworkAsync(new GetNetworkRequest { Id = "net-kept" });
            Assert.Equal(3, members.Members.Count);
            await Eventually.UntilAsync(
                async () => members.Equals(await Networks(follower).GetNetworkAsync(new GetNetworkRequest { Id = "net-kept" })),
                "the follower lists the leader's members");
            Assert.Equal(
                (await Networks(leader).ListNetworksAsync(new ListNetworksRequest())).Networks,
                (await Networks(follower).ListNetworksAsync(new ListNetworksRequest())).Networks);

            // A create on the follower is answered once Kubernetes reports the cluster Available; the leader's view
            // then gives the same answers to the same calls.
            var created = await Clusters(follower).CreateClusterAsync(new CreateClusterRequest { Name = "shared", Replicas = 2, Image = "example.local/app:1" });
            Assert.Equal(ClusterState.Available, created.State);
            await WatchUntilAsync(Clusters(leader), "shared", c => c.State == ClusterState.Available);
            foreach (var agent in new[] { leader, follower })
            {
                Assert.Equal(created, await Clusters(agent).GetClusterAsync(new GetClusterRequest { Name = "shared" }));
                Assert.Equal([created], (await Clusters(agent).ListClustersAsync(new ListClustersRequest())).Clusters);
                Assert.Equal(created, await WatchUntilAsync(Clusters(agent), "shared", _ => true));
            }

            // A create that misses its deadline (left in place) reads the same on both: the deadline is on the Deployment.
            var missed = await Assert.ThrowsAsync<RpcException>(() => Clusters(follower).CreateClusterAsync(Unschedulable("missed", 2, 3, TimeoutAction.Leave)).ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, missed.StatusCode);
            var failed = await Clusters(follower).GetClusterAsync(new GetClusterRequest { Name = "missed" });
            Assert.Equal((ClusterState.Failed, "DeadlineExceeded"), (failed.State, failed.Reason));
            await Eventually.UntilAsync(
                async () => failed.Equals(await Clusters(leader).GetClusterAsync(new GetClusterRequest { Name = "missed" })),
                "the leader reports the missed deadline as the follower does");

            // The leader receives a create that must be deleted if late, and dies before its deadline; the follower
            // takes over within the bound, keeps the members (not joined again: same join times), enforces the deadline
            // and acts on pods created afterwards.
            var doomed = await Clusters(leader).CreateClusterAsync(Unschedulable("doomed", 2, 8, TimeoutAction.Delete, noWait: true));
            Assert.Equal(ClusterState.CreateInProgress, doomed.State);
            var stopwatch = Stopwatch.StartNew();
            var takeover = Elector(follower).WaitForLeadershipAsync(new CancellationTokenSource(Timeout).Token);
            await leader.DisposeAsync();
            await takeover;
            var elapsed = stopwatch.Elapsed;
            Console.WriteLine($"takeover after the leader stopped: {elapsed.TotalSeconds:0.000} s");
            Assert.True(elapsed <= TakeoverBound, $"takeover took {elapsed.TotalSeconds:0.00}s, bound {TakeoverBound.TotalSeconds}s");
            var controller = follower.Services.GetRequiredService<NetworkController>();
            await Eventually.UntilAsync(() => controller.ExecuteTask is not null, "the new leader's network controller started");

            await Eventually.UntilAsync(
                async () => (await fixture.Client.AppsV1.ListNamespacedDeploymentAsync(ns, fieldSelector: "metadata.name=doomed")).Items.Count == 0,
                "the new leader deleted the cluster whose deadline passed", TimeSpan.FromSeconds(60));
            Console.WriteLine($"late cluster deleted by the new leader {stopwatch.Elapsed.TotalSeconds:0.000} s after the receiving replica stopped (deadline 8 s after the create)");
            await WatchGoneAsync(Clusters(follower), "doomed");

            await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-ha", "net-ha", 2), ns);
            using var joined = new CancellationTokenSource(Timeout);
            await controller.WaitForAsync(s => s.Any(n => n.Id == "net-ha" && n.Members.Count == 2 && n.Pending == 0), joined.Token);
            Assert.Equal(2, (await Networks(follower).GetNetworkAsync(new GetNetworkRequest { Id = "net-ha" })).Members.Count);
            Assert.Equal(members, await Networks(follower).GetNetworkAsync(new GetNetworkRequest { Id = "net-kept" }));
        }
        finally
        {
            await first.DisposeAsync();
        }
    }

    private static CreateClusterRequest Unschedulable(string name, int replicas, int timeoutSeconds, TimeoutAction onTimeout, bool noWait = false) => new()
    {
        Name = name,
        Replicas = replicas,
        Image = "example.local/app:1",
        NodeSelector = { ["sidecars.io/test-node"] = "none" },
        TimeoutSeconds = timeoutSeconds,
        OnTimeout = onTimeout,
        NoWait = noWait,
    };

    private static async Task WatchGoneAsync(Contracts.V1.Clusters.ClustersClient clusters, string name)
    {
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            using var call = clusters.WatchCluster(new WatchClusterRequest { Name = name }, cancellationToken: cts.Token);
            while (await call.ResponseStream.MoveNext(cts.Token))
            {
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
        }

        var gone = await Assert.ThrowsAsync<RpcException>(() => clusters.GetClusterAsync(new GetClusterRequest { Name = name }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
    }

    private static LeaseElector Elector(AgentHost agent) => agent.Services.GetRequiredService<LeaseElector>();

    private static Contracts.V1.Clusters.ClustersClient Clusters(AgentHost agent) => new(agent.Channel);

    private static Contracts.V1.Networks.NetworksClient Networks(AgentHost agent) => new(agent.Channel);

    private static async Task<(AgentHost Leader, AgentHost Follower)> LeaderAndFollowerAsync(AgentHost a, AgentHost b)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var leading = await Task.WhenAny(Elector(a).WaitForLeadershipAsync(cts.Token), Elector(b).WaitForLeadershipAsync(cts.Token));
        await leading;
        var leader = Elector(a).IsLeader ? a : b;
        var follower = ReferenceEquals(leader, a) ? b : a;
        // The follower has read the Lease at least once (it names the leader) before anything is compared.
        await Eventually.UntilAsync(() => Elector(follower).Leader == Elector(leader).Identity, "the follower sees the leader in the Lease");
        return (leader, follower);
    }

    private static async Task<Cluster> WatchUntilAsync(Contracts.V1.Clusters.ClustersClient clusters, string name, Func<Cluster, bool> condition)
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var call = clusters.WatchCluster(new WatchClusterRequest { Name = name }, cancellationToken: cts.Token);
        while (await call.ResponseStream.MoveNext(cts.Token))
        {
            if (condition(call.ResponseStream.Current))
            {
                return call.ResponseStream.Current;
            }
        }

        throw new InvalidOperationException($"the watch of cluster {name} ended before the condition held");
    }

    private Task<AgentHost> StartAgentAsync(string ns) =>
        AgentHost.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
        {
            ["Sidecars:Clusters:Namespace"] = ns,
            ["Sidecars:Networks:Namespace"] = ns,
            ["Sidecars:Networks:CallTimeout"] = "00:00:03",
        });
}
