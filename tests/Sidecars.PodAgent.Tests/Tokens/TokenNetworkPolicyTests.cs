using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Mutation;
using Sidecars.Testing;

namespace Sidecars.PodAgent.Tests;

/// <summary>
/// deploy/examples/pod-agent-token-policy.yaml as the API server would read it: the token port open to the cluster
/// agent's pods alone, every other port (the plain health port among them) open to every source.
/// </summary>
public sealed class TokenNetworkPolicyTests
{
    private static readonly string Root = ControlPlaneFixture.FindRepositoryRoot() ?? throw new InvalidOperationException("Sidecars.sln not found");

    private static V1NetworkPolicy Policy =>
        KubernetesObjects.ReadOne<V1NetworkPolicy>(File.ReadAllText(Path.Combine(Root, "deploy", "examples", "pod-agent-token-policy.yaml")));

    [Fact]
    public void It_selects_every_pod_of_its_namespace_for_ingress()
    {
        var policy = Policy;

        Assert.Empty(policy.Spec.PodSelector.MatchLabels ?? new Dictionary<string, string>());
        Assert.Equal(["Ingress"], policy.Spec.PolicyTypes);
    }

    [Fact]
    public void The_token_port_is_open_to_the_cluster_agent_alone()
    {
        var rules = Policy.Spec.Ingress.Where(r => Covers(r, "TCP", SidecarsNames.PodAgentTokenPort)).ToList();

        var rule = Assert.Single(rules);
        var peer = Assert.Single(rule.FromProperty);
        Assert.Equal("sidecars-system", peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        Assert.Equal(ClusterAgentPodLabels()["app.kubernetes.io/name"], peer.PodSelector.MatchLabels["app.kubernetes.io/name"]);
        Assert.Null(peer.IpBlock);
        Assert.Equal([SidecarsNames.PodAgentTokenPort], rule.Ports.Select(p => int.Parse(p.Port.Value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("TCP")]
    [InlineData("UDP")]
    [InlineData("SCTP")]
    public void Every_other_port_is_open_to_every_source(string protocol)
    {
        var open = Policy.Spec.Ingress.Where(r => r.FromProperty is null || r.FromProperty.Count == 0).ToList();

        var closed = Enumerable.Range(1, 65535).Where(port => !open.Any(r => Covers(r, protocol, port))).ToList();

        int[] expected = protocol == "TCP" ? [SidecarsNames.PodAgentTokenPort] : [];
        Assert.Equal(expected, closed);
        Assert.Contains(open, r => Covers(r, "TCP", SidecarsNames.PodAgentHealthPort));
    }

    private static bool Covers(V1NetworkPolicyIngressRule rule, string protocol, int port) =>
        rule.Ports is null || rule.Ports.Count == 0 || rule.Ports.Any(p =>
        {
            var first = int.Parse(p.Port.Value, System.Globalization.CultureInfo.InvariantCulture);
            return (p.Protocol ?? "TCP") == protocol && port >= first && port <= (p.EndPort ?? first);
        });

    /// <summary>The pod labels of the cluster agent deploy/ installs.</summary>
    private static IDictionary<string, string> ClusterAgentPodLabels() =>
        KubernetesObjects.ReadAll(File.ReadAllText(Path.Combine(Root, "deploy", "base", "cluster-agent.yaml")))
            .OfType<V1Deployment>().Single().Spec.Template.Metadata.Labels;
}
