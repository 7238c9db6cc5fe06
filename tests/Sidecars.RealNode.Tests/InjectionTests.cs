using System.Globalization;
using System.Net.Http.Headers;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.LocalCluster;
using Sidecars.Conventions;
using Sidecars.Lightpeer;
using Sidecars.Testing.Lightpeer;
using Sidecars.Testing.Tokens;
using Xunit.Abstractions;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// Pods applied with kubectl through the webhook running as a pod, in real containers: the injected sidecars come
/// from the agent image in the local registry, their probes and hooks run in the containers, logs come through kubectl.
/// </summary>
[Collection(RealNodeCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class InjectionTests(RealNodeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The webhook's user for kubectl: the lane's admin certificate names "admin", the owner it records.</summary>
    private const string Owner = "admin";

    [RealNodeFact]
    public async Task Copy_token_settings_data_volume_and_local_registry_images_work_in_real_containers()
    {
        var ns = await fixture.NewInjectedNamespaceAsync("features");
        var data = Path.Combine(Lane.StateDirectory, "volumes", ns);
        await fixture.Cluster.KubectlAsync(["apply", "-n", ns, "-f", "-"], Manifests.DataClaim(ns, Owner, data));
        var token = Guid.NewGuid().ToString("N");

        var (pod, elapsed) = await fixture.ApplyUntilReadyAsync(ns, "features", Manifests.FeaturesPod("features", token), ReadyTimeout);
        output.WriteLine($"kubectl apply to Ready: {elapsed.TotalSeconds:0.0} s");

        // What the webhook did, as stored.
        Assert.Equal(Owner, pod.Metadata.Labels[SidecarsLabels.Owner]);
        var agent = Assert.Single(pod.Spec.Containers, c => c.Name == SidecarsNames.PodAgentContainer);
        Assert.Contains("--tokens-only", agent.Args);
        var app = Assert.Single(pod.Spec.Containers, c => c.Name == "app");
        Assert.Equal($"{Lane.ShippedRegistryName}/{Lane.AppImage}", app.Image);
        Assert.Equal("sciencedata-" + Owner, Assert.Single(pod.Spec.Volumes, v => v.Name == "sciencedata").PersistentVolumeClaim?.ClaimName);

        // Both images came from the local registry: the digests the node ran are the ones it serves.
        foreach (var status in pod.Status.ContainerStatuses)
        {
            Assert.True(status.Ready, $"container {status.Name} not ready");
            var image = pod.Spec.Containers.Single(c => c.Name == status.Name).Image;
            Assert.StartsWith(Lane.ShippedRegistryName + "/", image, StringComparison.Ordinal);
            var digest = status.ImageID[(status.ImageID.IndexOf('@', StringComparison.Ordinal) + 1)..];
            Assert.Equal(await RegistryDigestAsync(image[(Lane.ShippedRegistryName.Length + 1)..]), digest);
        }

        // The pod-agent keeps the token the app wrote for the token reader: over TLS on its token port, 401 without the
        // reader's client certificate; the plain health port serves no token.
        using (var anonymous = TokenReaderPki.Client(null))
        using (var refused = await anonymous.GetAsync(new Uri($"https://{pod.Status.PodIP}:{SidecarsNames.PodAgentTokenPort}/token/token")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.DoesNotContain(token, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using (var plain = await http.GetAsync($"http://{pod.Status.PodIP}:{SidecarsNames.PodAgentHealthPort}/token/token"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, plain.StatusCode);
        }

        // Settings override the manifest's env; logs and exec go through the kubelet.
        Assert.Contains("greeting: hello from settings", await fixture.Cluster.KubectlAsync(["logs", "-n", ns, "features", "-c", "app"]));
        Assert.NotEmpty(await fixture.Cluster.KubectlAsync(["logs", "-n", ns, "features", "-c", SidecarsNames.PodAgentContainer]));
        Assert.Equal("written", await fixture.Cluster.KubectlAsync(["exec", "-n", ns, "features", "-c", "app", "--", "cat", "/sciencedata/from-pod"]));
        Assert.Equal("written", await File.ReadAllTextAsync(Path.Combine(data, "from-pod")));

        // The cluster DNS answers Service names (a new Service within moments, short names through the pod's search
        // path) and nothing else.
        var kubernetes = await ExecAsync(ns, "features", "nslookup", "kubernetes.default.svc.cluster.local");
        Assert.Matches(@"Name:\s+kubernetes\.default\.svc\.cluster\.local\s+Address:\s+10\.96\.0\.1\b", kubernetes);
        await fixture.Cluster.KubectlAsync(["expose", "pod", "features", "-n", ns, "--port", "80", "--target-port", SidecarsNames.PodAgentHealthPort.ToString(CultureInfo.InvariantCulture)]);
        var service = await fixture.Cluster.Client.CoreV1.ReadNamespacedServiceAsync("features", ns);
        await Eventually.HoldsAsync(
            async () =>
            {
                var answer = await ExecAsync(ns, "features", "nslookup", "features");
                return (answer.Contains($"Name:\tfeatures.{ns}.svc.cluster.local\nAddress: {service.Spec.ClusterIP}", StringComparison.Ordinal), answer);
            },
            $"features.{ns}.svc.cluster.local resolving to {service.Spec.ClusterIP} in the pod",
            TimeSpan.FromSeconds(30));
        var outside = await ExecAsync(ns, "features", "nslookup", "example.com");
        Assert.Contains("can't find example.com: NXDOMAIN", outside);
        Assert.DoesNotContain("Name:", outside);
    }

    /// <summary>Output and error of a command run in the pod's app container (busybox nslookup reports misses with exit 1).</summary>
    private async Task<string> ExecAsync(string ns, string pod, params string[] command)
    {
        var result = await fixture.Cluster.TryKubectlAsync(["exec", "-n", ns, pod, "-c", "app", "--", .. command]);
        return result.Output + result.Error;
    }

    [RealNodeFact]
    public async Task Lightpeers_in_real_containers_join_each_other_through_the_deployed_cluster_agent()
    {
        var ns = await fixture.NewInjectedNamespaceAsync("peers");
        var (a, elapsed) = await fixture.ApplyUntilReadyAsync(ns, "peer-a", Manifests.PeerPod("peer-a", "net"), ReadyTimeout);
        output.WriteLine($"kubectl apply to Ready: {elapsed.TotalSeconds:0.0} s");
        var (b, _) = await fixture.ApplyUntilReadyAsync(ns, "peer-b", Manifests.PeerPod("peer-b", "net"), ReadyTimeout);
        var addressA = $"{a.Status.PodIP}:{SidecarsNames.LightpeerDefaultPort}";
        var addressB = $"{b.Status.PodIP}:{SidecarsNames.LightpeerDefaultPort}";
        Assert.Contains("lightpeer listening on", await fixture.Cluster.KubectlAsync(["logs", "-n", ns, "peer-a", "-c", SidecarsNames.LightpeerContainer]));

        // Serving, it gives back its start-up code. The sidecar runs under its own seccomp profile (deploy/'s setting),
        // which allows userfaultfd for user-mode faults: a fault on its code maps only the page touched.
        Assert.Equal("Localhost", a.Spec.Containers.Single(c => c.Name == SidecarsNames.LightpeerContainer).SecurityContext.SeccompProfile.Type);
        await Eventually.HoldsAsync(
            async () =>
            {
                var log = await fixture.Cluster.KubectlAsync(["logs", "-n", ns, "peer-a", "-c", SidecarsNames.LightpeerContainer]);
                return (log.Contains("a fault maps back only the page touched", StringComparison.Ordinal), log);
            },
            "the lightpeer to say that a fault maps back only the page touched",
            TimeSpan.FromMinutes(1));

        // Joining is the network controller's work: the cluster agent deploy/ installed runs it for every namespace.
        await Eventually.HoldsAsync(
            async () =>
            {
                var (peersOfA, peersOfB) = (await PeersOfAsync(fixture.Cluster, ns, addressA), await PeersOfAsync(fixture.Cluster, ns, addressB));
                return (peersOfA.SequenceEqual([addressB]) && peersOfB.SequenceEqual([addressA]),
                    $"{addressA} knows [{string.Join(",", peersOfA)}], {addressB} knows [{string.Join(",", peersOfB)}]");
            },
            "the two lightpeers to know each other",
            TimeSpan.FromMinutes(3));
    }

    [RealNodeFact]
    public async Task The_pod_agents_postStart_hook_runs_the_agent_binary_of_the_agent_image()
    {
        var ns = await fixture.NewInjectedNamespaceAsync("hook");
        await fixture.Cluster.KubectlAsync(["apply", "-n", ns, "-f", "-"], Manifests.BlessedPod("blessed", "demo"));
        var pod = await fixture.Cluster.Client.CoreV1.ReadNamespacedPodAsync("blessed", ns);
        var hook = pod.Spec.Containers.Single(c => c.Name == SidecarsNames.PodAgentContainer).Lifecycle.PostStart.Exec.Command;

        // The cluster agent knows no application secret of this pod's, so the agent is never blessed and the hook
        // keeps waiting for it inside the container, holding the app back. A hook naming a path the image does not have fails at once instead.
        await Eventually.HoldsAsync(
            async () =>
            {
                var failures = (await fixture.Cluster.EventsOfAsync(ns, "blessed")).Where(e => e.StartsWith("FailedPostStartHook", StringComparison.Ordinal)).ToList();
                Assert.True(failures.Count == 0, $"the postStart hook failed: {string.Join('\n', failures)}");
                var running = HookProcesses.Find(hook, ns, "blessed");
                return (running.Count > 0, $"no process runs {string.Join(' ', hook)} for {ns}/blessed");
            },
            $"the hook {string.Join(' ', hook)} running in the pod-agent container",
            ReadyTimeout);
        pod = await fixture.Cluster.Client.CoreV1.ReadNamespacedPodAsync("blessed", ns);
        Assert.DoesNotContain(pod.Status.ContainerStatuses ?? [], s => s.Name == "app" && s.State.Running is not null);
    }

    /// <summary>
    /// The peers a lightpeer of <paramref name="ns"/> knows, asked over mutual TLS with the namespace's peer identity
    /// (read from its Secret, as an administrator can): lightpeers answer no one else.
    /// </summary>
    internal static async Task<string[]> PeersOfAsync(LaneCluster cluster, string ns, string address)
    {
        var identity = await cluster.Client.CoreV1.ReadNamespacedSecretAsync(SidecarsNames.LightpeerIdentitySecret, ns);
        using var clients = new PeerClients(TimeSpan.FromSeconds(5), new FixedPeerTls(identity));
        try
        {
            var response = await clients.Get(address, secure: true).PeersAsync(new PeersRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
            return [.. response.Peers.Order(StringComparer.Ordinal)];
        }
        catch (Grpc.Core.RpcException e)
        {
            // Until the kubelet fills the pod's optional identity volume (its next sync) the lightpeer answers nobody.
            return [$"(not answering: {e.StatusCode})"];
        }
    }

    /// <summary>The digest the local registry serves for <c>repository:tag</c>.</summary>
    private static async Task<string> RegistryDigestAsync(string image)
    {
        var repository = ImageReference.RepositoryOf(image);
        var tag = image[(repository.Length + 1)..];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var request = new HttpRequestMessage(HttpMethod.Head, $"http://{Lane.Registry}/v2/{repository}/manifests/{tag}");
        foreach (var type in new[]
        {
            "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
        })
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("Docker-Content-Digest").Single();
    }
}
