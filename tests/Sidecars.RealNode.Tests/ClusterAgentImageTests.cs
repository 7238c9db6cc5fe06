using k8s;
using Xunit.Abstractions;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The cluster agent's image (Dockerfile.cluster-agent) in a real container, pulled from the local registry under the
/// shipped name, with the security context deploy/ gives it: a non-root user the kubelet verifies from the image
/// alone, a read-only root file system, no capabilities.
/// </summary>
[Collection(RealNodeCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ClusterAgentImageTests(RealNodeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);

    // The cluster agent's plain probes port; its gRPC port waits for a certificate this pod may not issue.
    private const int HttpPort = Sidecars.Conventions.SidecarsNames.ClusterAgentMetricsPort;

    [RealNodeFact]
    public async Task The_cluster_agent_image_serves_its_health_endpoints_as_a_non_root_user_on_a_read_only_root()
    {
        var ns = await fixture.Cluster.NewNamespaceAsync("cluster-agent-image");
        var (pod, elapsed) = await fixture.ApplyUntilReadyAsync(ns, "cluster-agent", Pod("cluster-agent"), ReadyTimeout);
        output.WriteLine($"kubectl apply to Ready: {elapsed.TotalSeconds:0.0} s");

        var status = Assert.Single(pod.Status.ContainerStatuses);
        if (status.RestartCount != 0)
        {
            var previous = await fixture.Cluster.Client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, ns, container: "cluster-agent", previous: true, tailLines: 40);
            using var reader = new StreamReader(previous);
            Assert.Fail($"the cluster agent restarted {status.RestartCount} time(s); last state: {status.LastState?.Terminated?.Reason} " +
                $"(exit {status.LastState?.Terminated?.ExitCode}); its log:\n{await reader.ReadToEndAsync()}");
        }

        Assert.Contains("/sidecars/cluster-agent", status.Image, StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        Assert.Equal("Healthy", await http.GetStringAsync($"http://{pod.Status.PodIP}:{HttpPort}/healthz"));
    }

    // Probes as deploy/ has them (a startup probe guards a slow first start from the liveness probe).
    // runAsNonRoot without runAsUser: the kubelet refuses to start the container unless the image's own USER is a
    // numeric non-zero user.
    private static string Pod(string name) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          annotations:
            sidecars.io/inject: "false"
        spec:
          terminationGracePeriodSeconds: 5
          securityContext:
            runAsNonRoot: true
            seccompProfile:
              type: RuntimeDefault
          containers:
            - name: cluster-agent
              image: {{Lane.ShippedRegistryName}}/sidecars/cluster-agent:latest
              startupProbe:
                httpGet: { path: /healthz, port: {{HttpPort}} }
                periodSeconds: 1
                failureThreshold: 120
              readinessProbe:
                httpGet: { path: /healthz, port: {{HttpPort}} }
                periodSeconds: 1
              livenessProbe:
                httpGet: { path: /healthz, port: {{HttpPort}} }
                periodSeconds: 10
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities: { drop: ["ALL"] }
        """;
}
