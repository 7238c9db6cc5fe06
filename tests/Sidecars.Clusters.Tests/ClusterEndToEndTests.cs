using Grpc.Core;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Contracts.V1;
using Sidecars.Testing;
using Sidecars.Testing.Agent;

namespace Sidecars.Clusters.Tests;

/// <summary>The Clusters RPCs against the local control plane: every answer must match what Kubernetes reports.</summary>
[Collection(ControlPlaneCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ClusterEndToEndTests(ControlPlaneFixture fixture)
{
    /// <summary>Pods that are created but never scheduled (no node carries the label), so never ready.</summary>
    private static CreateClusterRequest Unschedulable(string name, int replicas) => new()
    {
        Name = name,
        Replicas = replicas,
        Image = "example.local/app:1",
        NodeSelector = { ["sidecars.io/test-node"] = "none" },
    };

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Thirty_replica_cluster_is_created_and_deleted_when_kubernetes_agrees()
    {
        var ns = await fixture.NewNamespaceAsync("clusters-30");
        await using var agent = await StartAgentAsync(ns);
        var clusters = new Contracts.V1.Clusters.ClustersClient(agent.Channel);

        var created = await clusters.CreateClusterAsync(new CreateClusterRequest { Name = "big", Replicas = 30, Image = "example.local/app:1" });
        // Read Kubernetes right after the call returns: it must already report the Deployment Available.
        var deployment = await fixture.Client.AppsV1.ReadNamespacedDeploymentAsync("big", ns);
        Assert.Equal(ClusterState.Available, created.State);
        Assert.True(deployment.Status.ObservedGeneration >= deployment.Metadata.Generation);
        Assert.Equal(30, deployment.Status.AvailableReplicas);
        Assert.Equal(30, deployment.Status.ReadyReplicas);
        Assert.Contains(deployment.Status.Conditions, c => c.Type == "Available" && c.Status == "True");
        Assert.Equal("sidecars", deployment.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal(30, created.AvailableReplicas);

        var listed = await clusters.ListClustersAsync(new ListClustersRequest());
        Assert.Equal(["big"], listed.Clusters.Select(c => c.Name));

        var deleted = await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "big" });
        Assert.True(deleted.Gone);
        var gone = await Assert.ThrowsAsync<HttpOperationException>(() => fixture.Client.AppsV1.ReadNamespacedDeploymentAsync("big", ns));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.Response.StatusCode);
        Assert.Empty((await fixture.Client.CoreV1.ListNamespacedPodAsync(ns)).Items);

        var missing = await Assert.ThrowsAsync<RpcException>(() => clusters.GetClusterAsync(new GetClusterRequest { Name = "big" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        AssertNoLeaks(agent);
    }

    [Fact]
    public async Task Clusters_and_networks_rpcs_refuse_callers_without_an_admin_certificate()
    {
        var ns = await fixture.NewNamespaceAsync("clusters-auth");
        await using var agent = await StartAgentAsync(ns);

        foreach (var channel in new[] { agent.AnonymousChannel(), agent.StrangerChannel() })
        {
            using (channel)
            {
                var clusters = new Contracts.V1.Clusters.ClustersClient(channel);
                var networks = new Contracts.V1.Networks.NetworksClient(channel);
                foreach (var call in new Func<Task>[]
                {
                    () => clusters.CreateClusterAsync(new CreateClusterRequest { Name = "intruder", Replicas = 1, Image = "example.local/app:1" }).ResponseAsync,
                    () => clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "intruder" }).ResponseAsync,
                    () => clusters.ListClustersAsync(new ListClustersRequest()).ResponseAsync,
                    () => clusters.WatchCluster(new WatchClusterRequest { Name = "intruder" }).ResponseStream.MoveNext(),
                    () => networks.ListNetworksAsync(new ListNetworksRequest()).ResponseAsync,
                })
                {
                    Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
                }
            }
        }

        Assert.Empty((await fixture.Client.AppsV1.ListNamespacedDeploymentAsync(ns)).Items);
        Assert.Empty((await new Contracts.V1.Clusters.ClustersClient(agent.Channel).ListClustersAsync(new ListClustersRequest())).Clusters);
    }

    [Fact]
    public async Task Concurrent_creates_share_one_outcome_and_repeats_are_idempotent()
    {
        var ns = await fixture.NewNamespaceAsync("clusters-concurrent");
        await using var agent = await StartAgentAsync(ns);
        var clusters = new Contracts.V1.Clusters.ClustersClient(agent.Channel);
        var request = new CreateClusterRequest { Name = "shared", Replicas = 5, Image = "example.local/app:1" };

        var early = await clusters.CreateClusterAsync(new CreateClusterRequest(request) { NoWait = true });
        Assert.Equal(ClusterState.CreateInProgress, early.State);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => clusters.CreateClusterAsync(request).ResponseAsync));
        Assert.All(results, r => Assert.Equal((ClusterState.Available, 5), (r.State, r.AvailableReplicas)));
        var deployment = await fixture.Client.AppsV1.ReadNamespacedDeploymentAsync("shared", ns);
        Assert.Equal(1, deployment.Metadata.Generation);

        var again = await clusters.CreateClusterAsync(request);
        Assert.Equal(ClusterState.Available, again.State);
        AssertNoLeaks(agent);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "shared" });
        AssertNoLeaks(agent);
    }

    [Fact]
    public async Task Delete_during_create_aborts_the_waiting_creates()
    {
        var ns = await fixture.NewNamespaceAsync("clusters-abort");
        await using var agent = await StartAgentAsync(ns);
        var clusters = new Contracts.V1.Clusters.ClustersClient(agent.Channel);
        // The cluster exists once the first create answers; the second create waits on it.
        var early = await clusters.CreateClusterAsync(new CreateClusterRequest(Unschedulable("stuck", 3)) { NoWait = true });
        Assert.Equal(ClusterState.CreateInProgress, early.State);
        var create = clusters.CreateClusterAsync(Unschedulable("stuck", 3)).ResponseAsync;
        await WaitUntilAsync(() => create.IsCompleted || agent.Services.GetRequiredService<ClusterManager>().Machine.ActiveWaiters == 1);

        // Wait (on the watch stream) until the pods exist, so the delete really interrupts a create in progress.
        await WaitForStateAsync(clusters, "stuck", c => c.State == ClusterState.CreateInProgress && c.Pods == 3);
        Assert.False(create.IsCompleted);
        var delete = await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "stuck" });
        Assert.True(delete.Gone);

        var aborted = await Assert.ThrowsAsync<RpcException>(() => create);
        Assert.Equal(StatusCode.Aborted, aborted.StatusCode);
        Assert.Empty((await fixture.Client.CoreV1.ListNamespacedPodAsync(ns)).Items);
        AssertNoLeaks(agent);
    }

    [Fact]
    public async Task Create_that_misses_its_deadline_fails_and_deletes_when_asked()
    {
        var ns = await fixture.NewNamespaceAsync("clusters-deadline");
        await using var agent = await StartAgentAsync(ns);
        var clusters = new Contracts.V1.Clusters.ClustersClient(agent.Channel);

        var left = await Assert.ThrowsAsync<RpcException>(() => clusters.CreateClusterAsync(new CreateClusterRequest(Unschedulable("left", 2)) { TimeoutSeconds = 2, OnTimeout = TimeoutAction.Leave }).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, left.StatusCode);
        Assert.Equal("DeadlineExceeded", left.Trailers.GetValue("cluster-reason"));
        Assert.Equal(ClusterState.Failed, (await clusters.GetClusterAsync(new GetClusterRequest { Name = "left" })).State);
        Assert.NotNull(await fixture.Client.AppsV1.ReadNamespacedDeploymentAsync("left", ns));

        var removed = await Assert.ThrowsAsync<RpcException>(() => clusters.CreateClusterAsync(new CreateClusterRequest(Unschedulable("removed", 2)) { TimeoutSeconds = 2, OnTimeout = TimeoutAction.Delete }).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, removed.StatusCode);
        await WaitForGoneAsync(clusters, "removed");

        await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "left" });
        AssertNoLeaks(agent);
    }

    [Fact]
    public async Task Restarted_agent_rebuilds_state_from_the_labelled_deployments()
    {
        var ns = await fixture.NewNamespaceAsync("clusters-restart");
        var request = new CreateClusterRequest { Name = "durable", Replicas = 3, Image = "example.local/app:1" };
        await using (var first = await StartAgentAsync(ns))
        {
            var created = await new Contracts.V1.Clusters.ClustersClient(first.Channel).CreateClusterAsync(request);
            Assert.Equal(ClusterState.Available, created.State);
        }

        await using var second = await StartAgentAsync(ns);
        var clusters = new Contracts.V1.Clusters.ClustersClient(second.Channel);
        Assert.Equal(ClusterState.Available, (await clusters.GetClusterAsync(new GetClusterRequest { Name = "durable" })).State);

        // The client repeats its call after the restart and gets the same answer without a second Deployment.
        var repeated = await clusters.CreateClusterAsync(request);
        Assert.Equal((ClusterState.Available, 3), (repeated.State, repeated.AvailableReplicas));
        Assert.Equal(1, (await fixture.Client.AppsV1.ReadNamespacedDeploymentAsync("durable", ns)).Metadata.Generation);

        await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "durable" });
        AssertNoLeaks(second);
    }

    private Task<AgentHost> StartAgentAsync(string ns) =>
        AgentHost.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
        {
            ["Sidecars:Clusters:Namespace"] = ns,
            ["Sidecars:Clusters:CreateTimeout"] = "00:03:00",
            ["Sidecars:Networks:Namespace"] = ns,
        });

    private static async Task WaitForStateAsync(Contracts.V1.Clusters.ClustersClient clusters, string name, Func<Cluster, bool> condition)
    {
        using var cts = new CancellationTokenSource(Timeout);
        Cluster? last = null;
        try
        {
            using var call = clusters.WatchCluster(new WatchClusterRequest { Name = name }, cancellationToken: cts.Token);
            await foreach (var cluster in call.ResponseStream.ReadAllAsync(cts.Token))
            {
                last = cluster;
                if (condition(cluster))
                {
                    return;
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
        }

        Assert.Fail($"cluster {name} never reached the awaited state; last seen: {last}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), cts.Token);
        }
    }

    private static async Task WaitForGoneAsync(Contracts.V1.Clusters.ClustersClient clusters, string name)
    {
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            using var call = clusters.WatchCluster(new WatchClusterRequest { Name = name }, cancellationToken: cts.Token);
            await foreach (var _ in call.ResponseStream.ReadAllAsync(cts.Token))
            {
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
        }

        var missing = await Assert.ThrowsAsync<RpcException>(() => clusters.GetClusterAsync(new GetClusterRequest { Name = name }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    private static void AssertNoLeaks(AgentHost agent)
    {
        var machine = agent.Services.GetRequiredService<ClusterManager>().Machine;
        Assert.Equal((0, 0, 0), (machine.ActiveWaiters, machine.ActiveSubscriptions, machine.ActiveOperations));
    }
}
