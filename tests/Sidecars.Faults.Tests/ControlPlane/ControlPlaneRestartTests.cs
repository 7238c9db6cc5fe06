using System.Diagnostics;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Contracts.V1;
using Sidecars.Kubernetes;
using Sidecars.LocalCluster;
using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>
/// Scenario 3: kube-apiserver or etcd restarted (SIGKILL) under the cluster agent's watches, also with etcd's history
/// compacted while the apiserver was down: a CreateCluster waiter whose Deployment becomes Available only once the
/// control plane is back gets its answer; the informers relisted and watch again.
/// </summary>
[Collection(FaultsCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ControlPlaneRestartTests(ControlPlaneFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(4);

    public enum Fault
    {
        ApiServerKilled,
        EtcdKilled,
        ApiServerKilledAndEtcdCompacted,
    }

    [Theory]
    [InlineData(Fault.ApiServerKilled)]
    [InlineData(Fault.EtcdKilled)]
    [InlineData(Fault.ApiServerKilledAndEtcdCompacted)]
    public async Task A_waiter_gets_the_outcome_that_arrived_after_the_outage(Fault fault)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var ct = timeout.Token;
        var ns = await fixture.NewNamespaceAsync("fault-" + fault, ct: ct);
        var gate = "fault.sidecars.io/" + ns;
        var node = await ClusterFaults.NodeAsync(fixture.Client, ct);
        await using var agent = await AgentHost.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
        {
            ["Sidecars:Clusters:Namespace"] = ns,
            ["Sidecars:Clusters:CreateTimeout"] = "00:10:00",
            ["Sidecars:Networks:Namespace"] = ns,
        });
        var clusters = new Contracts.V1.Clusters.ClustersClient(agent.Channel);
        try
        {
            // The pods wait for a node label that only appears once the control plane is back.
            var create = clusters.CreateClusterAsync(new CreateClusterRequest
            {
                Name = "waiter",
                Replicas = 2,
                Image = "example.local/app:1",
                NodeSelector = { [gate] = "open" },
            }, cancellationToken: ct).ResponseAsync;
            await ClusterFaults.WaitForStateAsync(clusters, "waiter", c => c.State == ClusterState.CreateInProgress && c.Pods == 2, ct);
            var informers = agent.Services.GetRequiredService<SharedInformerFactory>();
            var before = Deployments(informers, ns);

            var (component, whileDown) = fault switch
            {
                Fault.ApiServerKilled => (LocalControlPlane.ApiServerComponent, (Func<CancellationToken, Task>?)null),
                Fault.EtcdKilled => (LocalControlPlane.EtcdComponent, null),
                _ => (LocalControlPlane.ApiServerComponent, async token => await fixture.ControlPlane.CompactEtcdAsync(token)),
            };
            var stopped = Stopwatch.StartNew();
            await fixture.RestartComponentAsync(component, kill: true, whileDown, ct);
            var down = stopped.Elapsed;
            Assert.False(create.IsCompleted, "the create was answered before the pods could be scheduled");

            var back = Stopwatch.StartNew();
            await ClusterFaults.LabelNodeAsync(fixture.Client, node, gate, "open", ct);
            var result = await create.WaitAsync(ct);
            var answered = back.Elapsed;
            Assert.Equal((ClusterState.Available, 2), (result.State, result.AvailableReplicas));

            var after = Deployments(informers, ns);
            output.WriteLine($"{fault}: down {down.TotalSeconds:0.0} s; from the control plane back to the waiter's answer {answered.TotalSeconds:0.0} s; " +
                $"deployments informer lists {before.Lists}->{after.Lists}, watches {before.Watches}->{after.Watches}, 410s {before.Expirations}->{after.Expirations}, errors {before.Errors}->{after.Errors}");

            // The informer lost its watch and took it up again from a fresh list (not a stale cache, not a new informer):
            // whatever changed during the outage, a compaction included, is in that list.
            // (etcd's restart is the apiserver's to hide: its own watch on etcd resumes, and ours may never break.)
            if (component == LocalControlPlane.ApiServerComponent)
            {
                Assert.True(after.Watches > before.Watches, "the deployments informer never watched again");
                Assert.True(after.Lists > before.Lists, "the deployments informer did not list again after losing its watch");
            }

            // The cluster agent's view agrees with Kubernetes.
            var deployment = await fixture.Client.AppsV1.ReadNamespacedDeploymentAsync("waiter", ns, cancellationToken: ct);
            Assert.Equal(2, deployment.Status.AvailableReplicas);
            Assert.Equal(ClusterState.Available, (await clusters.GetClusterAsync(new GetClusterRequest { Name = "waiter" }, cancellationToken: ct)).State);
            Assert.True((await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "waiter" }, cancellationToken: ct)).Gone);
        }
        finally
        {
            await ClusterFaults.LabelNodeAsync(fixture.Client, node, gate, null, CancellationToken.None);
        }
    }

    private static InformerStatistics Deployments(SharedInformerFactory informers, string ns) =>
        informers.Statistics().Single(s => s.Key.Contains("deployments", StringComparison.OrdinalIgnoreCase) && s.Key.Contains(ns, StringComparison.Ordinal)).Value;
}
