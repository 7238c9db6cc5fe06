using Grpc.Core;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>What the network fault tests share: pods with a scripted lightpeer, waits on a network's membership.</summary>
internal static class NetworkFaults
{
    /// <summary>
    /// Creates a pod of <paramref name="network"/> that the simulated kubelet reports Ready, and serves a scripted
    /// lightpeer on its address. Creation is retried for a minute: right after a restart the apiserver may still refuse.
    /// </summary>
    public static async Task<ScriptedPeer> StartPeerPodAsync(IKubernetes client, string ns, string network, string name, CancellationToken ct)
    {
        var pod = new V1Pod
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
        };
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    await client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: ct);
                    return true;
                }
                catch (Exception e) when (e is HttpRequestException or IOException
                    || (e is k8s.Autorest.HttpOperationException h && (int)h.Response.StatusCode >= 500))
                {
                    return false;
                }
                catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
                {
                    // An earlier attempt was created, only its answer was lost.
                    return true;
                }
            },
            $"pod {name} created", TimeSpan.FromMinutes(1), ct);
        var ready = await client.WaitForPodAsync(ns, name, p => p is not null && p.IsReady() && p.Status.PodIP is not null, $"pod {name} Ready with an IP", TimeSpan.FromMinutes(2), ct);
        return await ScriptedPeer.StartAsync(ready!.Status.PodIP, SidecarsNames.LightpeerDefaultPort, holdJoins: false);
    }

    /// <summary>Waits until the network's members are exactly <paramref name="pods"/>, newest first, as the cluster agent answers.</summary>
    public static async Task WaitForMembersAsync(Contracts.V1.Networks.NetworksClient networks, string network, string[] pods, ClusterAgentProcess agent, CancellationToken ct)
    {
        var last = "nothing";
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    try
                    {
                        var answer = await networks.GetNetworkAsync(new GetNetworkRequest { Id = network }, cancellationToken: ct);
                        last = answer.ToString();
                        return answer.Members.Select(m => m.Pod).SequenceEqual(pods);
                    }
                    catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
                    {
                        last = e.Status.ToString();
                        return false;
                    }
                },
                $"network {network} has members {string.Join(", ", pods)}", TimeSpan.FromMinutes(2), ct);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last seen: {last}\n{Tail(agent.Log)}", e);
        }
    }

    public static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(60));
}
