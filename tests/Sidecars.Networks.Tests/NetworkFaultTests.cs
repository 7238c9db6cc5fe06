using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Networks.Tests;

/// <summary>Faults in a running network: lightpeers killed and restarted, pods deleted, a member missing news.</summary>
public sealed partial class NetworkEndToEndTests
{
    /// <summary>How long the lightpeers of the fault test keep a dropped or forgotten peer out (--forget-for).</summary>
    private static readonly TimeSpan FaultForgetFor = TimeSpan.FromSeconds(300);

    /// <summary>Bound on the network's recovery once the last fault is lifted, well below <see cref="FaultForgetFor"/>.</summary>
    private static readonly TimeSpan RejoinBound = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Killed_lightpeers_rejoin_at_once_and_the_survivors_converge_to_the_new_membership()
    {
        Assert.True(fixture.AgentPath is not null, "the agent must be built (dotnet build agent) so the kubelet can run lightpeers");
        const int size = 10;
        var ns = await fixture.NewNamespaceAsync("networks-kill");
        await using var agent = await StartAgentAsync(ns, checkInterval: "00:00:01");
        var controller = agent.Services.GetRequiredService<NetworkController>();

        // Slow periodic exchanges between lightpeers: the recovery below must come from gossip, not from the rare
        // exchange that happens to reach the right peer.
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(
            LightpeerWorkloads.Deployment("peers-k", "net-k", size, tls: true, "--forget-for", FaultForgetFor.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--check-interval", "15"),
            ns);
        await WaitForNetworksAsync(agent, ("net-k", size));
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-k");

        // 20 % of the lightpeers are killed, two pods deleted, and one survivor will miss the news of the restarts.
        var picked = Members(controller, "net-k").ToArray();
        Random.Shared.Shuffle(picked);
        var killed = picked[..(size / 5)];
        var deleted = picked[(size / 5)..(size / 5 + 2)];
        var missing = picked[size / 5 + 2];
        var killedProcesses = killed.ToDictionary(m => m.Pod, m => ProcessesOfPod(ns, m.Pod));

        // 1. The victims hang, then die (kill -9): hanging long enough for the controller to purge them, every member,
        //    the one that will miss the news included, is told to forget them at the incarnation it knows.
        foreach (var pid in killedProcesses.Values.SelectMany(p => p))
        {
            await LightpeerWorkloads.SignalAsync(pid, "STOP");
        }

        foreach (var member in deleted)
        {
            await fixture.Client.CoreV1.DeleteNamespacedPodAsync(member.Pod, ns, new V1DeleteOptions { GracePeriodSeconds = 0 });
        }

        var gone = killed.Concat(deleted).Select(m => m.Pod).ToHashSet(StringComparer.Ordinal);
        await WaitForAsync(
            agent, s => s.Any(n => n.Id == "net-k" && n.Members.All(m => !gone.Contains(m.Pod))),
            "the killed and deleted pods were not purged", Timeout);

        // 2. One survivor stops answering and is purged in turn: nobody tells it of what happens next.
        var missingProcesses = ProcessesOfPod(ns, missing.Pod);
        foreach (var pid in missingProcesses)
        {
            await LightpeerWorkloads.SignalAsync(pid, "STOP");
        }

        var resumedAt = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        try
        {
            await WaitForAsync(
                agent, s => s.Any(n => n.Id == "net-k" && n.Members.All(m => m.Pod != missing.Pod)),
                $"the stopped survivor {missing.Pod} was not purged", Timeout);

            // 3. The victims die and the kubelet restarts them: the same pods at the same addresses, fresh processes
            //    that know nobody. The controller joins them again through members that no longer know the stopped one.
            foreach (var pid in killedProcesses.Values.SelectMany(p => p))
            {
                await LightpeerWorkloads.SignalAsync(pid, "KILL");
            }

            var restarted = killed.Select(m => m.Pod).ToHashSet(StringComparer.Ordinal);
            await WaitForAsync(
                agent, s => s.Any(n => n.Id == "net-k" && restarted.All(p => n.Members.Any(m => m.Pod == p))),
                "the restarted lightpeers were not joined again", Timeout);
            foreach (var member in killed)
            {
                var now = ProcessesOfPod(ns, member.Pod);
                Assert.DoesNotContain(now, pid => killedProcesses[member.Pod].Contains(pid));
                Assert.Contains(Members(controller, "net-k"), m => m.Pod == member.Pod && m.Uid == member.Uid && m.Address == member.Address);
            }
        }
        finally
        {
            // 4. The survivor answers again: it still holds the tombstones of the victims' earlier lives.
            foreach (var pid in missingProcesses)
            {
                await LightpeerWorkloads.SignalAsync(pid, "CONT");
            }

            resumedAt = clock.Elapsed;
        }

        // Every lightpeer, the one that missed the news and the restarted ones included, knows exactly the new
        // membership well before a tombstone would have let anyone back in.
        await WaitForNetworksAsync(agent, ("net-k", size));
        var members = Members(controller, "net-k");
        Assert.Contains(members, m => m.Pod == missing.Pod);
        Assert.All(killed, k => Assert.Contains(members, m => m.Pod == k.Pod));
        Assert.DoesNotContain(members, m => deleted.Any(d => d.Pod == m.Pod));
        var left = RejoinBound - (clock.Elapsed - resumedAt);
        Assert.True(left > TimeSpan.Zero, $"the network took {clock.Elapsed - resumedAt} to take the survivor back");
        await AssertEveryPeerKnowsEveryOtherAsync(agent, "net-k", left);
        var recovered = clock.Elapsed - resumedAt;
        Assert.True(recovered < RejoinBound, $"recovered in {recovered}, bound {RejoinBound}");
        Console.WriteLine($"net-k recovered {recovered.TotalSeconds:F1} s after the last fault was lifted (--forget-for {FaultForgetFor.TotalSeconds} s)");

        await DeleteWorkloadsAsync(ns, "peers-k");
    }

    private IReadOnlyList<int> ProcessesOfPod(string ns, string pod)
    {
        var directory = fixture.ControlPlane.Kubelet.FindPodDirectory(ns, pod);
        Assert.NotNull(directory);
        var processes = LightpeerWorkloads.ProcessesOf(directory);
        Assert.NotEmpty(processes);
        return processes;
    }
}
