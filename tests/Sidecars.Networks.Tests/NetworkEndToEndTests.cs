using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Lightpeer;
using Sidecars.Networks.Identity;
using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Http;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Networks.Tests;

/// <summary>The network controller against the local control plane, with lightpeers running as real processes.</summary>
[Collection(ControlPlaneCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed partial class NetworkEndToEndTests(ControlPlaneFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task Two_networks_form_fully_and_a_killed_pod_is_purged_everywhere()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        var ns = await fixture.NewNamespaceAsync("networks-form");
        await using var agent = await StartAgentAsync(ns);
        var controller = agent.Services.GetRequiredService<NetworkController>();
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-a", "net-a", 10), ns);
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-b", "net-b", 20), ns);

        await WaitForNetworksAsync(agent, ("net-a", 10), ("net-b", 20));
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-a");
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-b");

        var networks = new Contracts.V1.Networks.NetworksClient(agent.Channel);
        var listed = await networks.ListNetworksAsync(new ListNetworksRequest());
        Assert.Equal([("net-a", 10), ("net-b", 20)], listed.Networks.Select(n => (n.Id, n.Members.Count)));

        // Kill one pod of net-a: it must leave the controller and every peer; its replacement joins.
        var victim = Members(controller, "net-a")[3];
        await fixture.Client.CoreV1.DeleteNamespacedPodAsync(victim.Pod, ns, new V1DeleteOptions { GracePeriodSeconds = 0 });
        await WaitForAsync(
            agent,
            s => s.Any(n => n.Id == "net-a" && n.Members.Count == 10 && n.Pending == 0 && n.Members.All(m => m.Pod != victim.Pod)),
            "the membership did not settle",
            Timeout);
        // Every member knows exactly the other members, so none knows the victim any more.
        Assert.DoesNotContain(Members(controller, "net-a"), m => m.Address == victim.Address);
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-a");

        await DeleteWorkloadsAsync(ns, "peers-a", "peers-b");
    }

    [Fact]
    public async Task Pods_running_before_the_controller_starts_are_not_Ready_until_they_form_one_network()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        var ns = await fixture.NewNamespaceAsync("networks-burst");
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-e", "net-e", 12), ns);
        var running = await fixture.Client.WaitForPodsAsync(
            ns, null, pods => pods.Count == 12 && pods.All(p => p.Status?.PodIP is not null && LightpeerPod.From(p) is { Started: true }),
            "12 lightpeers running", Timeout);

        // Outside any network, every lightpeer answers, and says it is not Ready: so is its pod.
        using (var http = new HttpClient())
        {
            foreach (var pod in running)
            {
                var readyz = new Uri($"http://{pod.Status.PodIP}:{SidecarsNames.LightpeerHealthPort}/readyz");
                await Eventually.UntilAsync(async () => await HttpStatus.TryGetAsync(http, readyz) is 503, $"{readyz} answers 503 (not in a network)", Timeout);
            }
        }

        var listed = await fixture.Client.CoreV1.ListNamespacedPodAsync(ns);
        Assert.DoesNotContain(listed.Items, p => p.IsReady());

        // The informer hands the controller all twelve at once, so their joins run side by side from an empty network:
        // exactly one of them may become the first member, or the network splits into islands that never meet.
        await using var agent = await StartAgentAsync(ns);
        await WaitForNetworksAsync(agent, ("net-e", 12));
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-e");
        await fixture.Client.WaitForPodsAsync(ns, null, pods => pods.Count == 12 && pods.All(p => p.IsReady()), "12 lightpeer pods Ready once members", Timeout);
        await DeleteWorkloadsAsync(ns, "peers-e");
    }

    [Fact]
    public async Task A_lone_member_whose_lightpeer_restarted_is_joined_again_and_Ready_again()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        var ns = await fixture.NewNamespaceAsync("networks-lone");
        // Checked every second but never purged for missed checks: the member stays recorded through the restart, so
        // only its own word that it is outside the network can bring it back.
        await using var agent = await StartAgentAsync(ns, checkInterval: "00:00:01", settings: new Dictionary<string, string?> { ["Sidecars:Networks:FailureThreshold"] = "100" });
        var controller = agent.Services.GetRequiredService<NetworkController>();
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-l", "net-l", 1), ns);
        await WaitForNetworksAsync(agent, ("net-l", 1));
        var member = Members(controller, "net-l").Single();
        await fixture.Client.WaitForPodAsync(ns, member.Pod, p => p is not null && p.IsReady(), $"pod {member.Pod} Ready as the first member", Timeout);

        // kill -9: the kubelet starts a fresh lightpeer, which knows nobody and has no peer to call it.
        var processes = LightpeerWorkloads.ProcessesOf(fixture.ControlPlane.Kubelet.FindPodDirectory(ns, member.Pod)
            ?? throw new InvalidOperationException($"no pod directory for {member.Pod}"));
        Assert.NotEmpty(processes);
        foreach (var pid in processes)
        {
            await LightpeerWorkloads.SignalAsync(pid, "KILL");
        }

        // The controller's health check hears that it is outside the network and joins it alone again: Ready again.
        await fixture.Client.WaitForPodAsync(
            ns, member.Pod, p => p is not null && p.IsReady() && p.Status.ContainerStatuses.Single().RestartCount > 0,
            $"pod {member.Pod} restarted and Ready again", Timeout);
        Assert.Equal([member], Members(controller, "net-l"));
        using var clients = new PeerClients(TimeSpan.FromSeconds(5), agent.Services.GetRequiredService<NetworkCredentials>());
        Assert.True((await clients.Get(member.Address, secure: true).HealthAsync(new HealthRequest(), deadline: DateTime.UtcNow.AddSeconds(5))).Member);
        await DeleteWorkloadsAsync(ns, "peers-l");
    }

    [Fact]
    public async Task New_pod_joins_through_a_live_member_when_the_newest_is_dead()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        var ns = await fixture.NewNamespaceAsync("networks-newest-dead");
        await using var agent = await StartAgentAsync(ns);
        var controller = agent.Services.GetRequiredService<NetworkController>();
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-c", "net-c", 3), ns);
        await WaitForNetworksAsync(agent, ("net-c", 3));

        // Freeze the newest member's lightpeer: Kubernetes still lists the pod, but it no longer answers.
        var newest = Members(controller, "net-c")[0];
        var directory = fixture.ControlPlane.Kubelet.FindPodDirectory(ns, newest.Pod);
        Assert.NotNull(directory);
        var processes = LightpeerWorkloads.ProcessesOf(directory);
        Assert.NotEmpty(processes);
        foreach (var pid in processes)
        {
            await LightpeerWorkloads.SignalAsync(pid, "STOP");
        }

        try
        {
            await fixture.Client.AppsV1.PatchNamespacedDeploymentScaleAsync(
                new V1Patch("""{"spec":{"replicas":4}}""", V1Patch.PatchType.MergePatch), "peers-c", ns);
            await WaitForAsync(
                agent,
                s => s.Any(n => n.Id == "net-c" && n.Members.Count == 3 && n.Pending == 0 && n.Members.All(m => m.Pod != newest.Pod)),
                "the membership did not settle",
                Timeout);
            var members = Members(controller, "net-c");
            Assert.DoesNotContain(members.Skip(1), m => m.Pod == members[0].Pod);
            await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-c");
            foreach (var member in members)
            {
                Assert.DoesNotContain(newest.Address, await PeersOfAsync(agent, member.Address));
            }
        }
        finally
        {
            foreach (var pid in processes)
            {
                await LightpeerWorkloads.SignalAsync(pid, "CONT");
            }
        }

        await DeleteWorkloadsAsync(ns, "peers-c");
    }

    [Fact]
    public async Task A_member_that_stops_answering_is_purged_by_the_health_checks_and_rejoins_when_it_answers_again()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        var ns = await fixture.NewNamespaceAsync("networks-unreachable");
        await using var agent = await StartAgentAsync(ns, checkInterval: "00:00:01");
        var controller = agent.Services.GetRequiredService<NetworkController>();
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-d", "net-d", 3), ns);
        await WaitForNetworksAsync(agent, ("net-d", 3));
        var unreachableBefore = NetworkMetrics.Purges.WithLabels("unreachable").Value;

        // Freeze the oldest member: no join goes through it and no pod event removes it (the pod stays, only not Ready).
        var frozen = Members(controller, "net-d")[^1];
        var processes = LightpeerWorkloads.ProcessesOf(fixture.ControlPlane.Kubelet.FindPodDirectory(ns, frozen.Pod)!);
        Assert.NotEmpty(processes);
        foreach (var pid in processes)
        {
            await LightpeerWorkloads.SignalAsync(pid, "STOP");
        }

        try
        {
            await WaitForAsync(
                agent,
                s => s.Any(n => n.Id == "net-d" && n.Members.Count == 2 && n.Members.All(m => m.Pod != frozen.Pod)),
                "the membership did not settle",
                Timeout);
            Assert.True(NetworkMetrics.Purges.WithLabels("unreachable").Value > unreachableBefore, "purged by a failed health check");
            var stillThere = await fixture.Client.CoreV1.ReadNamespacedPodAsync(frozen.Pod, ns);
            Assert.Null(stillThere.Metadata.DeletionTimestamp);
        }
        finally
        {
            foreach (var pid in processes)
            {
                await LightpeerWorkloads.SignalAsync(pid, "CONT");
            }
        }

        // Answering and Ready again, the same pod joins again and the three know each other.
        await WaitForNetworksAsync(agent, ("net-d", 3));
        Assert.Contains(Members(controller, "net-d"), m => m.Pod == frozen.Pod);
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-d");
        await DeleteWorkloadsAsync(ns, "peers-d");
    }

    [Fact]
    public async Task A_pod_whose_join_completes_after_it_stopped_being_Ready_is_a_member_and_does_not_join_again()
    {
        var ns = await fixture.NewNamespaceAsync("networks-flap");
        await using var agent = await StartAgentAsync(ns);
        var controller = agent.Services.GetRequiredService<NetworkController>();
        await using var first = await StartScriptedPodAsync(ns, "peer-m", "net-f", holdJoins: false);
        await WaitForNetworksAsync(agent, ("net-f", 1));

        // The second pod's join is in flight (held by its lightpeer) when the pod stops being Ready: it leaves the queue.
        await using var flapping = await StartScriptedPodAsync(ns, "peer-p", "net-f", holdJoins: true);
        await flapping.JoinArrived.WaitAsync(Timeout);
        await SetReadyAsync(ns, "peer-p", ready: false);
        await WaitForAsync(agent, s => s.Any(n => n.Id == "net-f" && n.Pending == 0), "peer-p did not leave the queue", Timeout);

        // The join completes: its lightpeer is in the network, so the pod is a member although not Ready now.
        flapping.ReleaseJoins();
        await WaitForAsync(
            agent, s => s.Any(n => n.Id == "net-f" && n.Members.Any(m => m.Pod == "peer-p")),
            "peer-p, joined while not Ready, was not recorded as a member", TimeSpan.FromSeconds(30));

        // Ready again, it is not joined a second time; a third pod's join (through the newest member, peer-p) shows
        // the controller has seen the pod's later events.
        await SetReadyAsync(ns, "peer-p", ready: true);
        await using var third = await StartScriptedPodAsync(ns, "peer-q", "net-f", holdJoins: false);
        await WaitForNetworksAsync(agent, ("net-f", 3));
        Assert.Equal(["peer-q", "peer-p", "peer-m"], Members(controller, "net-f").Select(m => m.Pod));
        Assert.Equal(1, flapping.Joins);
        Assert.Equal(1, third.Joins);
        Assert.Equal(0, first.Joins);
    }

    [Fact]
    public async Task A_pod_that_turns_Ready_while_another_s_join_hangs_joins_without_waiting_for_it()
    {
        var ns = await fixture.NewNamespaceAsync("networks-overtake");
        // A call bound long enough that the hanging join is still in flight whatever the machine's load.
        await using var agent = await StartAgentAsync(ns, settings: new Dictionary<string, string?> { ["Sidecars:Networks:CallTimeout"] = "00:01:00" });
        var controller = agent.Services.GetRequiredService<NetworkController>();
        await using var first = await StartScriptedPodAsync(ns, "peer-m", "net-o", holdJoins: false);
        await WaitForNetworksAsync(agent, ("net-o", 1));

        // peer-p's join hangs in its lightpeer; peer-q turns Ready meanwhile and becomes a member while it still hangs.
        await using var hanging = await StartScriptedPodAsync(ns, "peer-p", "net-o", holdJoins: true);
        await hanging.JoinArrived.WaitAsync(Timeout);
        await using var next = await StartScriptedPodAsync(ns, "peer-q", "net-o", holdJoins: false);
        await WaitForAsync(
            agent, s => s.Any(n => n.Id == "net-o" && n.Members.Any(m => m.Pod == "peer-q")), "peer-q did not become a member", Timeout);
        Assert.Equal(1, hanging.JoinsWaiting);
        Assert.Equal(["peer-q", "peer-m"], Members(controller, "net-o").Select(m => m.Pod));

        // Its join answered, the hanging pod is the newest member, joined once.
        hanging.ReleaseJoins();
        await WaitForNetworksAsync(agent, ("net-o", 3));
        Assert.Equal(["peer-p", "peer-q", "peer-m"], Members(controller, "net-o").Select(m => m.Pod));
        Assert.Equal(1, hanging.Joins);
        Assert.Equal(1, next.Joins);
    }

    [Fact]
    public async Task Only_the_network_controller_can_make_a_lightpeer_join_or_forget()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        var ns = await fixture.NewNamespaceAsync("networks-authenticated");
        await using var agent = await StartAgentAsync(ns, settings: new Dictionary<string, string?> { ["Sidecars:Networks:IdentityRetention"] = "00:00:02" });
        var controller = agent.Services.GetRequiredService<NetworkController>();
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-g", "net-g", 3), ns);
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment("peers-h", "net-h", 2, tls: false), ns);
        await WaitForNetworksAsync(agent, ("net-g", 3), ("net-h", 2));
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-g");
        var members = Members(controller, "net-g");
        var (target, victim) = (members[0].Address, members[1].Address);

        // The plain network is what every network was before: an unauthenticated caller makes a member forget another.
        var plain = Members(controller, "net-h");
        using (var h2c = GrpcChannel.ForAddress("http://" + plain[0].Address))
        {
            var forgotten = await new Contracts.V1.Lightpeer.LightpeerClient(h2c).ForgetAsync(
                new ForgetRequest { Addresses = { plain[1].Address } }, deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.Equal(1, forgotten.Removed);
        }

        // Over h2c a TLS lightpeer does not even answer.
        using (var h2c = GrpcChannel.ForAddress("http://" + target))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => new Contracts.V1.Lightpeer.LightpeerClient(h2c).ForgetAsync(
                new ForgetRequest { Addresses = { victim } }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            Assert.True(refused.StatusCode is StatusCode.Unavailable or StatusCode.Internal, refused.ToString());
        }

        // TLS without a client certificate: Unauthenticated, with the reason.
        using (var anonymous = GrpcChannel.ForAddress("https://" + target, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } },
        }))
        {
            var client = new Contracts.V1.Lightpeer.LightpeerClient(anonymous);
            var forget = await Assert.ThrowsAsync<RpcException>(() => client.ForgetAsync(
                new ForgetRequest { Addresses = { victim } }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, forget.StatusCode);
            Assert.Contains("client certificate", forget.Status.Detail, StringComparison.Ordinal);
            var join = await Assert.ThrowsAsync<RpcException>(() => client.JoinAsync(
                new JoinRequest { Address = plain[0].Address }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, join.StatusCode);
        }

        // The namespace's own peer certificate, which every lightpeer pod of the namespace mounts: a peer, not the controller.
        var identity = await fixture.Client.CoreV1.ReadNamespacedSecretAsync(SidecarsNames.LightpeerIdentitySecret, ns);
        using (var peers = new PeerClients(TimeSpan.FromSeconds(5), new FixedPeerTls(identity)))
        {
            var client = peers.Get(target, secure: true);
            Assert.Contains(victim, (await client.PeersAsync(new PeersRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Peers);
            var forget = await Assert.ThrowsAsync<RpcException>(() => client.ForgetAsync(
                new ForgetRequest { Addresses = { victim } }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, forget.StatusCode);
            Assert.Contains(SidecarsNames.NetworkControllerName, forget.Status.Detail, StringComparison.Ordinal);
            Assert.Contains(SidecarsNames.LightpeerPeerName(ns), forget.Status.Detail, StringComparison.Ordinal);
            var join = await Assert.ThrowsAsync<RpcException>(() => client.JoinAsync(
                new JoinRequest { Address = plain[0].Address }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, join.StatusCode);
        }

        // Nothing was forgotten and no outsider joined: the TLS network is as the controller made it.
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-g");
        foreach (var member in Members(controller, "net-g"))
        {
            Assert.DoesNotContain(plain[0].Address, await PeersOfAsync(agent, member.Address));
        }

        // Once the namespace has had no lightpeer for the retention period, its peer key is deleted.
        await DeleteWorkloadsAsync(ns, "peers-g", "peers-h");
        await Eventually.HoldsAsync(
            async () =>
            {
                var left = await fixture.Client.CoreV1.ListNamespacedSecretAsync(ns, fieldSelector: $"metadata.name={SidecarsNames.LightpeerIdentitySecret}");
                return (left.Items.Count == 0, $"{left.Items.Count} left");
            },
            "the namespace's peer identity Secret deleted after its last lightpeer",
            TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// A pod whose container the kubelet does not run as a process (so it is Ready as soon as it runs), with a
    /// <see cref="ScriptedPeer"/> serving its lightpeer port on the pod's IP.
    /// </summary>
    private async Task<ScriptedPeer> StartScriptedPodAsync(string ns, string name, string network, bool holdJoins)
    {
        await fixture.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { [SidecarsLabels.NetworkId] = network } },
            Spec = new V1PodSpec
            {
                TerminationGracePeriodSeconds = 0,
                Containers =
                [
                    new V1Container
                    {
                        Name = "peer",
                        Image = "example.local/scripted-peer:1",
                        Ports = [new V1ContainerPort { Name = SidecarsNames.LightpeerPortName, ContainerPort = SidecarsNames.LightpeerDefaultPort }],
                    },
                ],
            },
        }, ns);
        var pod = await fixture.Client.WaitForPodAsync(ns, name, p => p is not null && p.IsReady() && p.Status.PodIP is not null, $"pod {name} Ready with an IP", Timeout);
        return await ScriptedPeer.StartAsync(pod!.Status.PodIP, SidecarsNames.LightpeerDefaultPort, holdJoins);
    }

    /// <summary>Sets the pod's Ready condition as a kubelet whose probe changed its verdict would.</summary>
    private async Task SetReadyAsync(string ns, string name, bool ready)
    {
        var status = ready ? "True" : "False";
        await fixture.Client.CoreV1.PatchNamespacedPodStatusAsync(
            new V1Patch($$$"""{"status":{"conditions":[{"type":"Ready","status":"{{{status}}}"}]}}""", V1Patch.PatchType.StrategicMergePatch), name, ns);
        await fixture.Client.WaitForPodAsync(ns, name, p => p is not null && p.IsReady() == ready, $"pod {name} Ready={status}", Timeout);
    }

    // Health checks are slow by default here so that the tests see joins and delete events act on their own; a test's
    // settings replace these.
    private Task<AgentHost> StartAgentAsync(string ns, string checkInterval = "00:10:00", IReadOnlyDictionary<string, string?>? settings = null) =>
        AgentHost.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
        {
            ["Sidecars:Clusters:Namespace"] = ns,
            ["Sidecars:Networks:Namespace"] = ns,
            ["Sidecars:Networks:CheckInterval"] = checkInterval,
            ["Sidecars:Networks:CallTimeout"] = "00:00:03",
        }.Where(s => settings?.ContainsKey(s.Key) != true).Concat(settings ?? new Dictionary<string, string?>()).ToDictionary());

    private static Task WaitForNetworksAsync(AgentHost agent, params (string Id, int Size)[] expected) =>
        WaitForAsync(
            agent,
            s => expected.All(e => s.Any(n => n.Id == e.Id && n.Members.Count == e.Size && n.Pending == 0)),
            $"networks did not form: expected {string.Join(", ", expected)}",
            Timeout);

    private static async Task WaitForAsync(AgentHost agent, Func<IReadOnlyList<NetworkSnapshot>, bool> condition, string failure, TimeSpan timeout)
    {
        var controller = agent.Services.GetRequiredService<NetworkController>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(agent.Stopping);
        cts.CancelAfter(timeout);
        try
        {
            await controller.WaitForAsync(condition, cts.Token);
        }
        catch (OperationCanceledException)
        {
            var why = agent.Stopping.IsCancellationRequested ? "the cluster agent host stopped on its own" : $"not within {timeout}";
            Assert.Fail($"{failure}: {why}; saw " + string.Join(", ", controller.Snapshot().Select(
                n => $"{n.Id}: {n.Pending} pending, members {string.Join(" ", n.Members.Select(m => m.Pod))}"))
                + $"\nthe cluster agent's log ({agent.LogPath}) ends:\n{agent.LogTail()}");
        }
    }

    private static IReadOnlyList<NetworkMember> Members(NetworkController controller, string network) =>
        controller.Snapshot().Single(n => n.Id == network).Members;

    private static async Task AssertEveryPeerKnowsEveryOtherAsync(AgentHost agent, string network, TimeSpan? within = null)
    {
        var controller = agent.Services.GetRequiredService<NetworkController>();
        var bound = Stopwatch.StartNew();
        var addresses = Members(controller, network).Select(m => m.Address).ToArray();
        foreach (var address in addresses)
        {
            var others = addresses.Where(a => a != address).Order(StringComparer.Ordinal).ToArray();
            await Eventually.HoldsAsync(
                async () =>
                {
                    try
                    {
                        var peers = await PeersOfAsync(agent, address);
                        return (peers.SequenceEqual(others), string.Join(",", peers));
                    }
                    catch (Grpc.Core.RpcException e) when (e.StatusCode is Grpc.Core.StatusCode.DeadlineExceeded or Grpc.Core.StatusCode.Unavailable)
                    {
                        // A lightpeer slow to answer on a loaded machine is asked again within the bound.
                        return (false, $"no answer ({e.StatusCode})");
                    }
                },
                $"peer {address} of {network} knows exactly the {others.Length} other members",
                within is { } limit ? Max(limit - bound.Elapsed, TimeSpan.FromMilliseconds(1)) : Timeout);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The peers a lightpeer knows, asked with the network controller's certificate (any network certificate may ask).</summary>
    private static async Task<string[]> PeersOfAsync(AgentHost agent, string address)
    {
        using var clients = new PeerClients(TimeSpan.FromSeconds(5), agent.Services.GetRequiredService<NetworkCredentials>());
        var response = await clients.Get(address, secure: true).PeersAsync(new PeersRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
        return [.. response.Peers.Order(StringComparer.Ordinal)];
    }

    private async Task DeleteWorkloadsAsync(string ns, params string[] names)
    {
        foreach (var name in names)
        {
            await fixture.Client.AppsV1.DeleteNamespacedDeploymentAsync(name, ns, new V1DeleteOptions { PropagationPolicy = "Foreground" });
        }

        await fixture.Client.WaitForPodsAsync(ns, null, pods => pods.Count == 0, "lightpeer pods gone", Timeout);
    }
}
