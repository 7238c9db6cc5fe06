using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Testing;
using Sidecars.Testing.Http;
using Sidecars.Testing.Tokens;
using Sidecars.Testing.UserPods;
using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Tests.EndToEnd;

/// <summary>What a client of the original user-pods API relies on, on the real control plane.</summary>
[Collection(UserPodsControlPlane.Name)]
[Trait("Category", "ControlPlane")]
public sealed class OriginalParityEndToEndTests(ControlPlaneFixture cluster) : IAsyncLifetime
{
    private const string Silo = "10.0.0.20";
    private const string SiloHost = "silo7.example.org";
    private static TokenReaderPki Pki => TokenAppRunner.Pki;
    private LoopbackHttpServer _manifests = null!;
    private string _namespace = null!;
    private ClusterAgentHost? _agent;

    private k8s.Kubernetes Kube => cluster.Client;

    public async Task InitializeAsync()
    {
        Assert.True(cluster.AgentPath is not null, "the agent is not built (agent/bin/**/sidecars-agent): the simulated kubelet cannot run it");
        cluster.ControlPlane.Kubelet.AddRunner(new TokenAppRunner(cluster.AgentPath, Pki.CaFile));
        _namespace = await cluster.NewNamespaceAsync("parity");
        _manifests = await LoopbackHttpServer.StartAsync();
        _manifests.Files["/manifests/ubuntu.yaml"] = UserPodManifests.SshPod;
        _manifests.Files["/manifests/stuck.yaml"] = UserPodManifests.NeverReady;
        _agent = await ClusterAgentHost.StartAsync(cluster.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
        {
            ["namespace"] = _namespace,
            ["createTimeout"] = "00:01:30",
            ["deleteTimeout"] = "00:01:00",
            ["manifestWhitelist"] = $@"http://127\.0\.0\.1:{_manifests.Address.Port}/manifests/[a-z-]+\.yaml",
            ["defaultRestartPolicy"] = "OnFailure",
            ["nfsStorageRoot"] = "/srv/users",
            ["storageCapacity"] = "5Gi",
            ["tokenFetchTimeout"] = "00:00:10",
            ["tokenClientCertificateFile"] = Pki.Reader.Certificate,
            ["tokenClientKeyFile"] = Pki.Reader.Key,
            // Requests come from loopback here: the testing host stands for the silo.
            ["testingHost"] = Silo,
            ["hostnameList:0:hostname"] = SiloHost,
            ["hostnameList:0:address"] = Silo,
        });
    }

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        await _manifests.DisposeAsync();
        foreach (var volume in (await Kube.CoreV1.ListPersistentVolumeAsync()).Items.Where(v => v.Spec.ClaimRef?.NamespaceProperty == _namespace))
        {
            await Kube.CoreV1.DeletePersistentVolumeAsync(volume.Metadata.Name);
        }

        await Kube.CoreV1.DeleteNamespaceAsync(_namespace);
    }

    [Fact]
    public async Task Storage_home_server_restart_policy_and_ssh_port_are_as_the_original_made_them_and_delete_all_user_removes_the_storage()
    {
        using var alice = _agent!.JsonClient(ClusterAgentHost.AliceKey);
        var podName = (await PostAsync(alice, "/create_pod", new JsonObject
        {
            ["yaml_url"] = _manifests.Url("/manifests/ubuntu.yaml"),
            ["user_id"] = ClusterAgentHost.Alice,
        }))["pod_name"]!.GetValue<string>();
        Assert.True((await PostAsync(alice, "/watch_create_pod", new JsonObject { ["user_id"] = ClusterAgentHost.Alice, ["pod_name"] = podName }))["ready"]!.GetValue<bool>());

        // defaultRestartPolicy and hostnameList (the caller's address, loopback here, stands for the testing host).
        var pod = await Kube.CoreV1.ReadNamespacedPodAsync(podName, _namespace);
        Assert.Equal("OnFailure", pod.Spec.RestartPolicy);
        var env = pod.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(SiloHost, env["HOME_SERVER_HOSTNAME"]);
        Assert.Equal(Silo, env["HOME_SERVER_IP"]);

        // nfsStorageRoot: the user's NFS volume on the silo and the claim the pod mounts, bound to each other.
        var claimName = OwnerNames.ClaimName("sciencedata-{user}", "{user}", ClusterAgentHost.Alice);
        Assert.Equal(claimName, pod.Spec.Volumes.Single(v => v.Name == "sciencedata").PersistentVolumeClaim.ClaimName);
        var volumeName = _namespace + "-" + claimName;
        await Eventually.UntilAsync(async () =>
            (await Kube.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claimName, _namespace)).Status?.Phase == "Bound"
            && (await Kube.CoreV1.ReadPersistentVolumeAsync(volumeName)).Status?.Phase == "Bound",
            "the user's claim and NFS volume to be bound", TimeSpan.FromSeconds(60));
        var volume = await Kube.CoreV1.ReadPersistentVolumeAsync(volumeName);
        Assert.Equal(Silo, volume.Spec.Nfs.Server);
        Assert.Equal("/srv/users/" + ClusterAgentHost.Alice, volume.Spec.Nfs.Path);
        Assert.Equal("Retain", volume.Spec.PersistentVolumeReclaimPolicy);
        Assert.Equal(volumeName, (await Kube.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claimName, _namespace)).Spec.VolumeName);

        // k8s_pod_info: the nodePort of the pod's ssh Service, in both answer shapes.
        var service = await Kube.CoreV1.ReadNamespacedServiceAsync(podName, _namespace);
        var nodePort = service.Spec.Ports.Single().NodePort!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var listed = Assert.Single((await PostAsync(alice, "/get_pods", new JsonObject { ["user_id"] = ClusterAgentHost.Alice }))["pods"]!.AsArray())!;
        Assert.Equal(nodePort, listed["k8s_pod_info"]!["sshPort"]!.GetValue<string>());
        // A token the pod-agent could not hand over yet (it is fetched on a call once the pod is Ready) is fetched
        // again by the next call.
        JsonNode original = null!;
        await Eventually.UntilAsync(
            async () =>
            {
                original = Assert.Single((await PostAsync(alice, "/compat/get_pods", new JsonObject { ["user_id"] = ClusterAgentHost.Alice })).AsArray())!;
                return original["tokens"]?["token"] is not null;
            },
            "the pod's token in the original answer shape",
            TimeSpan.FromSeconds(60));
        Assert.Equal(podName, original["pod_name"]!.GetValue<string>());
        Assert.Equal("ubuntu", original["container_name"]!.GetValue<string>());
        Assert.Equal(TokenAppRunner.Image, original["image_name"]!.GetValue<string>());
        Assert.Equal(nodePort, original["k8s_pod_info"]!["sshPort"]!.GetValue<string>());
        Assert.Equal("ssh-ready", original["tokens"]!["token"]!.GetValue<string>());

        // get_podip_owner: JSON on the main route, the plain user name on the compatibility route.
        var podIp = listed["pod_ip"]!.GetValue<string>();
        using var portal = _agent.JsonClient(ClusterAgentHost.OperatorKey);
        Assert.Equal(ClusterAgentHost.Alice, (await GetJsonAsync(portal, "/get_podip_owner?ip=" + podIp))["user_id"]!.GetValue<string>());
        Assert.Equal(ClusterAgentHost.Alice, await GetTextAsync(portal, "/compat/get_podip_owner?ip=" + podIp));
        using var bob = _agent.JsonClient(ClusterAgentHost.BobKey);
        Assert.Equal(string.Empty, await GetTextAsync(bob, "/compat/get_podip_owner?ip=" + podIp));
        using var anonymous = _agent.JsonClient(null);
        using (var refused = await anonymous.GetAsync("/compat/get_podip_owner?ip=" + podIp))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // delete_all_user deletes the pods and the storage objects (the files stay on the silo: Retain).
        var deleted = await PostAsync(portal, "/delete_all_user", new JsonObject { ["user_id"] = ClusterAgentHost.Alice });
        Assert.Equal([podName], deleted["pod_names"]!.AsArray().Select(n => n!.GetValue<string>()));
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedPodAsync(podName, _namespace));
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claimName, _namespace));
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadPersistentVolumeAsync(volumeName));
    }

    [Fact]
    public async Task Watch_create_of_a_pod_that_was_ready_once_and_is_not_now_answers_false_at_once()
    {
        var alice = _agent!.GrpcClient(ClusterAgentHost.AliceKey);
        var podName = (await alice.CreatePodAsync(new Contracts.V1.CreatePodRequest { YamlUrl = _manifests.Url("/manifests/stuck.yaml"), UserId = ClusterAgentHost.Alice })).PodName;
        // As the API records a pod it has seen Ready; the pod's readiness probe never passes, so it is not Ready now.
        var patch = new V1Patch(KubernetesJson.Serialize(new V1Pod { Metadata = new V1ObjectMeta { Annotations = new Dictionary<string, string> { [UserPodKeys.ReadyAt] = DateTimeOffset.UtcNow.ToString("O") } } }), V1Patch.PatchType.MergePatch);
        await Kube.CoreV1.PatchNamespacedPodAsync(patch, podName, _namespace);
        await Eventually.UntilAsync(async () => (await alice.GetPodsAsync(new Contracts.V1.GetPodsRequest { UserId = ClusterAgentHost.Alice })).Pods.Count == 1, "the pod to be listed");
        await Eventually.UntilAsync(async () =>
            (await Kube.CoreV1.ReadNamespacedPodAsync(podName, _namespace)).Metadata.Annotations.ContainsKey(UserPodKeys.ReadyAt),
            "the annotation to be stored", TimeSpan.FromSeconds(30));

        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watched = await alice.WatchCreatePodAsync(
            new Contracts.V1.WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName }, cancellationToken: bounded.Token);

        Assert.False(watched.Ready);
        Assert.NotNull(await Kube.CoreV1.ReadNamespacedPodAsync(podName, _namespace));
    }

    private static async Task<JsonNode> PostAsync(HttpClient client, string path, JsonObject body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string path) => JsonNode.Parse(await GetTextAsync(client, path))!;

    private static async Task<string> GetTextAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return text;
    }
}
