using k8s;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Testing;
using PodAgentClient = Sidecars.Contracts.V1.PodAgent.PodAgentClient;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>
/// Pod-agents reach the cluster agent over HTTPS and verify it with the CA bundle the cluster agent delivers to their
/// namespace (ConfigMap sidecars-ca, mounted by the webhook, kept current by the kubelet); the bundle rotates under a
/// running pod-agent, which keeps renewing and refuses a certificate from a CA it no longer trusts.
/// </summary>
[Collection(IdentityCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class TrustEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Pod_agent_verifies_the_cluster_agent_with_the_delivered_bundle_through_a_ca_rotation_without_restarting()
    {
        var tls = new ClusterAgentTls(await fixture.NewNamespaceAsync("agent-tls"));
        var first = ClusterAgentTls.NewAuthority("cluster-agent-ca-1");
        var second = ClusterAgentTls.NewAuthority("cluster-agent-ca-2");
        await tls.PublishAsync(fixture.Client, ClusterAgentTls.Bundle(first), tls.Serve(first));
        await using var scenario = await IdentityScenario.StartAsync(fixture, TimeSpan.FromSeconds(30), tls: tls);
        await scenario.CtlAsync("claim", "--blessing", "root");
        await scenario.AppStartAsync(replicas: 1);
        var pod = (await scenario.ReadyPodsAsync(1)).Single();

        // The webhook pointed the pod-agent at the HTTPS address and the mounted bundle; it got its blessing through them.
        var agent = pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []).Single(c => c.Name == SidecarsNames.PodAgentContainer);
        Assert.StartsWith("https://", agent.Env.Single(e => e.Name == SidecarsNames.ClusterAgentEnv).Value, StringComparison.Ordinal);
        Assert.Contains(SidecarsNames.TrustBundleFile, agent.Args);
        var bundleFile = scenario.VolumeFile(pod, SidecarsNames.TrustBundleVolume, SidecarsNames.TrustBundleKey);
        Assert.Equal(ClusterAgentTls.Bundle(first), await File.ReadAllTextAsync(bundleFile));
        using var channel = scenario.SocketChannel(pod);
        var client = new PodAgentClient(channel);
        Assert.Equal($"root:my-service:{pod.Metadata.Name}", (await client.GetBlessingsAsync(new GetBlessingsRequest())).Name);

        // Rotation, first step: old and new CA delivered, the cluster agent serves from the new one on new connections.
        await tls.PublishAsync(fixture.Client, ClusterAgentTls.Bundle(first, second), tls.Serve(second));
        await BundleReachesPodAsync(bundleFile, ClusterAgentTls.Bundle(first, second));
        await ReconnectAsync(scenario);
        await RenewsAsync(client, "after the cluster agent moved to the new CA");

        // Second step: the new CA alone.
        await tls.PublishAsync(fixture.Client, ClusterAgentTls.Bundle(second), tls.Serve(second));
        await BundleReachesPodAsync(bundleFile, ClusterAgentTls.Bundle(second));
        await ReconnectAsync(scenario);
        await RenewsAsync(client, "with only the new CA delivered");

        // A certificate from the dropped CA is refused, and the log says which certificate and which CAs were trusted.
        tls.Serve(first);
        await ReconnectAsync(scenario);
        await Eventually.UntilAsync(
            () =>
            {
                var log = scenario.ContainerLog(pod, SidecarsNames.PodAgentContainer);
                return log.Contains("Not trusting the cluster agent", StringComparison.Ordinal)
                    && log.Contains("issued by 'CN=cluster-agent-ca-1'", StringComparison.Ordinal)
                    && log.Contains("trusted CAs from ", StringComparison.Ordinal)
                    && log.Contains("'CN=cluster-agent-ca-2'", StringComparison.Ordinal);
            },
            "the pod-agent to log that it does not trust a certificate of cluster-agent-ca-1", TimeSpan.FromSeconds(60));

        // Served from the trusted CA again, the same process renews: the pod-agent was never restarted.
        tls.Serve(second);
        await ReconnectAsync(scenario);
        await RenewsAsync(client, "once the cluster agent serves a trusted certificate again");
        var now = await scenario.Client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty);
        var status = now.Status.ContainerStatuses.Concat(now.Status.InitContainerStatuses ?? []).Single(c => c.Name == SidecarsNames.PodAgentContainer);
        Assert.Equal(0, status.RestartCount);
    }

    private static Task BundleReachesPodAsync(string file, string bundle) =>
        Eventually.UntilAsync(() => File.ReadAllText(file) == bundle, "the rotated CA bundle to reach the running pod's volume", TimeSpan.FromSeconds(60));

    /// <summary>Restarts the cluster agent on its ports: its connections close, so the pod-agent's next call makes a new TLS connection.</summary>
    private static async Task ReconnectAsync(IdentityScenario scenario)
    {
        await scenario.Agent.StopAsync();
        await scenario.Agent.StartAsync();
    }

    /// <summary>Waits for the pod-agent to hold a blessing other than the one it holds now: a renewal made from here on.</summary>
    private static async Task RenewsAsync(PodAgentClient client, string when)
    {
        var held = await LeafAsync(client);
        await Eventually.UntilAsync(
            async () => await LeafAsync(client) is { } leaf && !leaf.Equals(held),
            "the running pod-agent to renew its blessing " + when, TimeSpan.FromSeconds(90));
    }

    /// <summary>The leaf certificate of the blessing the pod-agent serves; null while it has none to serve.</summary>
    private static async Task<Google.Protobuf.ByteString?> LeafAsync(PodAgentClient client)
    {
        try
        {
            return (await client.GetBlessingsAsync(new GetBlessingsRequest())).Chain[0];
        }
        catch (Grpc.Core.RpcException)
        {
            return null;
        }
    }
}
