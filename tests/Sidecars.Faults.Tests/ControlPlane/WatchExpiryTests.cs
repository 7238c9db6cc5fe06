using System.Diagnostics;
using System.Globalization;
using k8s;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Admin;
using Sidecars.LocalCluster;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;
using Sidecars.Testing.Lightpeer;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>
/// Scenario 3, forced 410 Gone: a watch the apiserver ended cleanly (its timeout) is resumed from a revision etcd has
/// compacted away. The control plane of this test keeps no watch cache for pods and Deployments, so the apiserver
/// answers such a resume from etcd: 410 Gone. The cluster agent is frozen (SIGSTOP) while its watches end, the cluster
/// and a network change and etcd is compacted; thawed, it reads the end of its watches, resumes them, is answered 410
/// and must relist: the CreateCluster waiter gets Available and the pod created meanwhile joins its network. (In some
/// runs the frozen process's HTTP/2 connection to the apiserver fails on thaw instead, and the informers relist through
/// their error path: the outcome must be the same; the figures say which path each run took.)
/// </summary>
[Collection(FaultsCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class WatchExpiryTests(ITestOutputHelper output) : IDisposable
{
    private const string Network = "net-w";
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(6);
    /// <summary>Short, so that the apiserver ends the frozen agent's watches soon and the freeze stays short.</summary>
    private static readonly TimeSpan WatchTimeout = TimeSpan.FromSeconds(2);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Watchers_resumed_after_their_revision_was_compacted_relist_and_miss_no_event()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var ct = timeout.Token;
        var options = new LocalControlPlaneOptions
        {
            KeepStateDirectory = Environment.GetEnvironmentVariable(ControlPlaneFixture.KeepStateVariable) == "1",
            ExtraApiServerArgs = { "--watch-cache-sizes=deployments.apps#0,pods#0" },
        };
        await using var plane = await LocalControlPlane.StartAsync(options, ct);
        using var client = plane.CreateClient();
        var ns = "fault-expiry";
        await plane.CreateNamespaceAsync(ns, ct: ct);
        var node = await ClusterFaults.NodeAsync(client, ct);
        var gate = "fault.sidecars.io/expiry";
        using var pki = new TestPki(_directory.File("pki"));
        await using var agent = new ClusterAgentProcess(pki, _directory.File("agent"), new Dictionary<string, string>
        {
            ["Sidecars__Kubernetes__KubeconfigPath"] = plane.KubeconfigPath,
            ["Sidecars__Kubernetes__WatchTimeout"] = WatchTimeout.ToString(),
            ["Sidecars__Identity__Store"] = "File",
            ["Sidecars__Clusters__Namespace"] = ns,
            ["Sidecars__Clusters__CreateTimeout"] = "00:10:00",
            ["Sidecars__Networks__Namespace"] = ns,
            ["Sidecars__Networks__CaNamespace"] = ns,
            ["Sidecars__Networks__CallTimeout"] = "00:00:03",
            // Frozen for well under the renew deadline: the agent leads before and after.
            ["Sidecars__Leadership__Namespace"] = ns,
            ["Sidecars__Leadership__LeaseDuration"] = "00:05:00",
            ["Sidecars__Leadership__RenewDeadline"] = "00:04:00",
            ["Sidecars__Leadership__RetryPeriod"] = "00:00:00.500",
        });
        await agent.StartAsync(ct);
        using var channel = AdminCredentials.CreateChannel(agent.Address, pki.AdminClient, pki.ServerRoots);
        var clusters = new Contracts.V1.Clusters.ClustersClient(channel);
        var networks = new Contracts.V1.Networks.NetworksClient(channel);

        // Before: one member in the network, a CreateCluster waiter whose pods wait for a node label.
        await using var first = await NetworkFaults.StartPeerPodAsync(client, ns, Network, "peer-1", ct);
        await NetworkFaults.WaitForMembersAsync(networks, Network, ["peer-1"], agent, ct);
        var create = clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "waiter",
            Replicas = 2,
            Image = "example.local/app:1",
            NodeSelector = { [gate] = "open" },
        }, cancellationToken: ct).ResponseAsync;
        await ClusterFaults.WaitForStateAsync(clusters, "waiter", c => c.State == ClusterState.CreateInProgress && c.Pods == 2, ct);
        Assert.True(await AgentWatchesAsync(plane, ct) is { Deployments: > 0, Pods: > 0 }, "the cluster agent does not watch pods and Deployments of its namespace");

        // The agent freezes; the apiserver ends its watches (their timeout) while it cannot resume them.
        var pid = agent.ProcessId ?? throw new InvalidOperationException("the cluster agent is not running");
        await LightpeerWorkloads.SignalAsync(pid, "STOP");
        var frozen = Stopwatch.StartNew();
        ScriptedPeer? second = null;
        long compacted;
        try
        {
            await Eventually.UntilAsync(
                async () => await AgentWatchesAsync(plane, ct) is { Deployments: 0, Pods: 0 },
                "the apiserver ended the frozen agent's watches", TimeSpan.FromMinutes(1), ct);

            // Meanwhile the waiter's Deployment becomes Available and a pod of the network is created and turns Ready.
            await ClusterFaults.LabelNodeAsync(client, node, gate, "open", ct);
            second = await NetworkFaults.StartPeerPodAsync(client, ns, Network, "peer-2", ct);
            await Eventually.UntilAsync(
                async () => (await client.AppsV1.ReadNamespacedDeploymentAsync("waiter", ns, cancellationToken: ct)).Status?.AvailableReplicas == 2,
                "the waiter's Deployment Available", TimeSpan.FromMinutes(2), ct);

            // Every revision the agent saw is compacted away.
            compacted = await plane.CompactEtcdAsync(ct);
        }
        finally
        {
            await LightpeerWorkloads.SignalAsync(pid, "CONT");
        }

        await using var _ = second;
        var frozenFor = frozen.Elapsed;
        var back = Stopwatch.StartNew();
        var result = await create.WaitAsync(TimeSpan.FromMinutes(2), ct);
        var answered = back.Elapsed;
        Assert.Equal((ClusterState.Available, 2), (result.State, result.AvailableReplicas));
        await NetworkFaults.WaitForMembersAsync(networks, Network, ["peer-2", "peer-1"], agent, ct);
        var joined = back.Elapsed;
        Assert.Equal(1, second!.Joins);

        // Every watch ended while the agent was frozen, so each informer took it up again on thaw: resumed from its
        // compacted revision it is answered 410 Gone and lists again. (The frozen process's HTTP/2 connection to the
        // apiserver may also fail on thaw, in some runs; every informer then lists again through its error path.)
        var log = agent.Log;
        var deployments = "deployments in namespace " + ns;
        var pods = "pods in namespace " + ns;
        var (deploymentsExpired, podsExpired) = (Expirations(log, deployments), Expirations(log, pods));
        var (deploymentsFailed, podsFailed) = (Failures(log, deployments), Failures(log, pods));
        output.WriteLine($"watch expired (410 Gone) on resume: frozen {frozenFor.TotalSeconds:0.0} s, etcd compacted to {compacted}; " +
            $"from the watcher back to the waiter's answer {answered.TotalSeconds:0.0} s, to the pod created meanwhile joined {joined.TotalSeconds:0.0} s; " +
            $"410s: deployments {deploymentsExpired}, pods {podsExpired}; failed watches: deployments {deploymentsFailed}, pods {podsFailed}");
        Assert.True(deploymentsExpired + deploymentsFailed > 0, "the deployments informer went on without listing again:\n" + Tail(log));
        Assert.True(podsExpired + podsFailed > 0, "no pods informer listed again:\n" + Tail(log));
        Assert.Equal(ClusterState.Available, (await clusters.GetClusterAsync(new GetClusterRequest { Name = "waiter" }, cancellationToken: ct)).State);
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>Watches of pods and Deployments in one namespace (the cluster agent's only) open on the apiserver.</summary>
    private static async Task<(double Deployments, double Pods)> AgentWatchesAsync(LocalControlPlane plane, CancellationToken ct)
    {
        var metrics = await plane.KubectlAsync(["get", "--raw", "/metrics"], ct: ct);
        double Sum(string resource) => metrics.Split('\n')
            .Where(l => l.StartsWith("apiserver_longrunning_gauge{", StringComparison.Ordinal)
                && l.Contains($"resource=\"{resource}\"", StringComparison.Ordinal)
                && l.Contains("scope=\"namespace\"", StringComparison.Ordinal)
                && l.Contains("verb=\"WATCH\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        return (Sum("deployments"), Sum("pods"));
    }

    private static int Failures(string log, string source) =>
        log.Split('\n').Count(l => l.Contains("List/watch of " + source, StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));

    private static int Expirations(string log, string source) =>
        log.Split('\n').Count(l => l.Contains("Watch of " + source, StringComparison.Ordinal) && l.Contains("expired (410 Gone)", StringComparison.Ordinal));

    /// <summary>What the informers logged (each entry's heading, message and first line of an exception).</summary>
    private static string Tail(string log)
    {
        var lines = log.Split('\n');
        return string.Join('\n', lines.Select((l, i) => (l, i))
            .Where(x => x.l.Contains("ResourceInformer", StringComparison.Ordinal))
            .SelectMany(x => lines.Skip(x.i).Take(3)).TakeLast(90));
    }
}
