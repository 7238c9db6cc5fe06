using k8s;
using k8s.Models;
using Sidecars.Testing;
using Xunit;

namespace Sidecars.LocalCluster.Tests;

[Collection(ControlPlaneCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class WorkloadTests
{
    private readonly ControlPlaneFixture _fixture;

    public WorkloadTests(ControlPlaneFixture fixture) => _fixture = fixture;

    private k8s.Kubernetes Client => _fixture.Client;

    [Fact]
    public async Task Deployment_of_three_becomes_available_with_distinct_loopback_pod_ips()
    {
        var ns = await _fixture.NewNamespaceAsync("deploy");
        await Client.AppsV1.CreateNamespacedDeploymentAsync(Manifests.Deployment("web", 3), ns);

        var deployment = await Client.WaitForDeploymentAsync(ns, "web", d => d.IsAvailable(), "deployment web to be Available");

        Assert.Equal(3, deployment.Status.AvailableReplicas);
        var pods = (await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app=web")).Items;
        Assert.Equal(3, pods.Count);
        Assert.All(pods, p =>
        {
            Assert.Equal("Running", p.Status.Phase);
            Assert.StartsWith("127.", p.Status.PodIP, StringComparison.Ordinal);
            Assert.NotEqual("127.0.0.1", p.Status.PodIP);
            Assert.Equal(p.Status.PodIP, Assert.Single(p.Status.PodIPs).Ip);
            Assert.Equal("127.0.0.1", p.Status.HostIP);
            Assert.Equal(_fixture.ControlPlane.Kubelet.NodeName, p.Spec.NodeName);
            Assert.True(p.IsReady());
            Assert.True(_fixture.ControlPlane.Kubelet.IsPodIpAllocated(p.Status.PodIP));
        });
        Assert.Equal(3, pods.Select(p => p.Status.PodIP).Distinct().Count());
    }

    [Fact]
    public async Task Two_hundred_pods_run_with_unique_ips_and_scale_back_down()
    {
        var ns = await _fixture.NewNamespaceAsync("scale");
        await Client.AppsV1.CreateNamespacedDeploymentAsync(Manifests.Deployment("many", 200), ns);

        await Client.WaitForDeploymentAsync(ns, "many", d => d.IsAvailable(), "deployment many to be Available", TimeSpan.FromMinutes(4));

        var pods = (await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app=many")).Items;
        Assert.Equal(200, pods.Count);
        Assert.Equal(200, pods.Select(p => p.Status.PodIP).Distinct().Count());

        await Client.AppsV1.PatchNamespacedDeploymentScaleAsync(
            new V1Patch("{\"spec\":{\"replicas\":0}}", V1Patch.PatchType.MergePatch), "many", ns);
        await Client.WaitForPodsAsync(ns, "app=many", p => p.Count == 0, "every pod of many to go", TimeSpan.FromMinutes(4));
        Assert.All(pods, p => Assert.False(_fixture.ControlPlane.Kubelet.IsPodIpAllocated(p.Status.PodIP)));
    }

    [Fact]
    public async Task Pods_marked_not_ready_while_their_node_was_declared_not_ready_are_reported_ready_again()
    {
        var ns = await _fixture.NewNamespaceAsync("recover");
        await Client.CoreV1.CreateNamespacedPodAsync(Manifests.Pod("steady", new V1Container { Name = "app", Image = "example.test/virtual:1" }), ns);
        var ready = (await Client.WaitForPodAsync(ns, "steady", p => p?.IsReady() == true, "pod steady to be Ready"))!;

        // What kube-controller-manager does to a node whose heartbeats lapsed, and to every pod on it.
        await Client.CoreV1.PatchNodeStatusAsync(
            new V1Patch("""{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown"}]}}""", V1Patch.PatchType.StrategicMergePatch),
            _fixture.ControlPlane.Kubelet.NodeName);
        var marked = await Client.CoreV1.PatchNamespacedPodStatusAsync(
            new V1Patch("""{"status":{"conditions":[{"type":"Ready","status":"False"}]}}""", V1Patch.PatchType.StrategicMergePatch), "steady", ns);
        Assert.False(marked.IsReady());

        var restored = (await Client.WaitForPodAsync(ns, "steady", p => p?.IsReady() == true, "the kubelet to report pod steady Ready again"))!;
        Assert.Equal(ready.Status.PodIP, restored.Status.PodIP);
        Assert.Equal(ready.Metadata.Uid, restored.Metadata.Uid);
        // The pod may be restored before the node: a pod also writes its status again while an earlier lapse is recent.
        var node = await Client.WaitForNodeAsync(
            _fixture.ControlPlane.Kubelet.NodeName, n => n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true,
            "the node's heartbeat to report it Ready again");
        Assert.Equal("KubeletReady", node.Status.Conditions.Single(c => c.Type == "Ready").Reason);
    }

    [Fact]
    public async Task A_pod_status_written_by_someone_else_while_the_node_is_ready_is_left_as_written()
    {
        var ns = await _fixture.NewNamespaceAsync("external");
        await Client.CoreV1.CreateNamespacedPodAsync(Manifests.Pod("held", new V1Container { Name = "app", Image = "example.test/virtual:1" }), ns);
        await Client.WaitForPodAsync(ns, "held", p => p?.IsReady() == true, "pod held to be Ready");

        // Tests stand in for a probe's verdict this way; a node that never lapsed leaves it alone.
        await Client.CoreV1.PatchNamespacedPodStatusAsync(
            new V1Patch("""{"status":{"conditions":[{"type":"Ready","status":"False"}]}}""", V1Patch.PatchType.StrategicMergePatch), "held", ns);
        await Client.CoreV1.CreateNamespacedPodAsync(Manifests.Pod("after", new V1Container { Name = "app", Image = "example.test/virtual:1" }), ns);
        await Client.WaitForPodAsync(ns, "after", p => p?.IsReady() == true, "a pod created afterwards to be Ready");

        var held = await Client.CoreV1.ReadNamespacedPodAsync("held", ns);
        Assert.False(held.IsReady());
    }

    [Fact]
    public async Task Deleted_pod_disappears_and_its_ip_is_released()
    {
        var ns = await _fixture.NewNamespaceAsync("delete");
        await Client.CoreV1.CreateNamespacedPodAsync(Manifests.Pod("doomed", new V1Container { Name = "app", Image = "example.test/virtual:1" }), ns);
        var running = await Client.WaitForPodAsync(ns, "doomed", p => p?.IsReady() == true, "pod doomed to be Ready");
        var ip = running!.Status.PodIP;
        Assert.True(_fixture.ControlPlane.Kubelet.IsPodIpAllocated(ip));

        await Client.CoreV1.DeleteNamespacedPodAsync("doomed", ns);

        await Client.WaitForPodAsync(ns, "doomed", p => p is null, "pod doomed to disappear");
        Assert.False(_fixture.ControlPlane.Kubelet.IsPodIpAllocated(ip));
    }

    [Fact]
    public async Task Job_with_a_virtual_container_completes()
    {
        var ns = await _fixture.NewNamespaceAsync("job");
        var job = new V1Job
        {
            Metadata = new V1ObjectMeta { Name = "once" },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Template = new V1PodTemplateSpec
                {
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        Containers = [new V1Container { Name = "work", Image = "example.test/batch:1" }],
                    },
                },
            },
        };
        await Client.BatchV1.CreateNamespacedJobAsync(job, ns);

        var done = await Client.WaitForJobAsync(ns, "once", j => j.IsComplete(), "job once to complete");

        Assert.Equal(1, done.Status.Succeeded);
        var pod = Assert.Single((await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "job-name=once")).Items);
        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.Equal(0, Assert.Single(pod.Status.ContainerStatuses).State.Terminated.ExitCode);
    }

    [Fact]
    public async Task Kubectl_runs_as_the_requested_user()
    {
        var ns = await _fixture.NewNamespaceAsync("kubectl");

        var output = await _fixture.ControlPlane.KubectlAsync(["get", "serviceaccount", "default", "-n", ns, "-o", "name"], user: "alice");

        Assert.Equal("serviceaccount/default", output.Trim());

        const string manifest = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: from-stdin
            data:
              key: value
            """;
        await _fixture.ControlPlane.KubectlAsync(["apply", "-n", ns, "-f", "-"], user: "bob", stdin: manifest);
        var created = await Client.CoreV1.ReadNamespacedConfigMapAsync("from-stdin", ns);
        Assert.Equal("value", created.Data["key"]);

        var failure = await Assert.ThrowsAsync<KubectlException>(() => _fixture.ControlPlane.KubectlAsync(["get", "configmap", "missing", "-n", ns]));
        Assert.NotEqual(0, failure.ExitCode);
        Assert.Contains("not found", failure.StandardError, StringComparison.Ordinal);
    }
}
