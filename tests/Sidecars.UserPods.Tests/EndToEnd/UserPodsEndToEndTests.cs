using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using k8s;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Testing;
using Sidecars.Testing.Http;
using Sidecars.Testing.Tokens;
using Sidecars.Testing.UserPods;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Manifests;
using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Tests.EndToEnd;

[Collection(UserPodsControlPlane.Name)]
[Trait("Category", "ControlPlane")]
public sealed class UserPodsEndToEndTests(ControlPlaneFixture cluster) : IAsyncLifetime
{
    private const string IngressDomain = "pods.test.local";
    // One for the run: the kubelet's first matching runner wins, so every test's pods trust the same CA file.
    private static TokenReaderPki Pki => TokenAppRunner.Pki;
    private readonly List<ClusterAgentHost> _hosts = [];
    private LoopbackHttpServer _manifests = null!;
    private string _namespace = null!;

    private k8s.Kubernetes Kube => cluster.Client;

    public async Task InitializeAsync()
    {
        Assert.True(cluster.AgentPath is not null, "the agent is not built (agent/bin/**/sidecars-agent): the simulated kubelet cannot run it");
        cluster.ControlPlane.Kubelet.AddRunner(new TokenAppRunner(cluster.AgentPath, Pki.CaFile));
        _namespace = await cluster.NewNamespaceAsync("userpods");
        _manifests = await LoopbackHttpServer.StartAsync();
        _manifests.Files["/manifests/notebook.yaml"] = UserPodManifests.TokenPod("tok-123");
        _manifests.Files["/manifests/big-token.yaml"] = UserPodManifests.TokenPod(new string('t', 200));
        _manifests.Files["/manifests/stuck.yaml"] = UserPodManifests.NeverReady;
        _manifests.Files["/manifests/broken.yaml"] = UserPodManifests.Malformed;
        _manifests.Files["/elsewhere/notebook.yaml"] = UserPodManifests.TokenPod("tok-123");
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await _manifests.DisposeAsync();
        await Kube.CoreV1.DeleteNamespaceAsync(_namespace);
    }

    [Fact]
    public async Task Create_watch_list_locate_and_delete_over_http_json()
    {
        var agent = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(60));
        using var alice = agent.JsonClient(ClusterAgentHost.AliceKey);

        var created = await PostAsync(alice, "/create_pod", new JsonObject
        {
            ["yaml_url"] = _manifests.Url("/manifests/notebook.yaml"),
            ["user_id"] = ClusterAgentHost.Alice,
            ["settings"] = new JsonObject { ["notebook"] = new JsonObject { ["THEME"] = "dark" } },
        });
        var podName = created["pod_name"]!.GetValue<string>();
        Assert.StartsWith("notebook-alice-exam-pjsk34uhg7vja-", podName);

        var watched = await PostAsync(alice, "/watch_create_pod", new JsonObject { ["user_id"] = ClusterAgentHost.Alice, ["pod_name"] = podName });
        Assert.True(watched["ready"]!.GetValue<bool>());

        var pods = (await PostAsync(alice, "/get_pods", new JsonObject { ["user_id"] = ClusterAgentHost.Alice }))["pods"]!.AsArray();
        var pod = Assert.Single(pods)!;
        Assert.Equal(podName, pod["pod_name"]!.GetValue<string>());
        Assert.Equal(ClusterAgentHost.Alice, pod["owner"]!.GetValue<string>());
        Assert.Equal($"https://{podName}.{IngressDomain}", pod["url"]!.GetValue<string>());
        Assert.Equal("Ready", pod["status"]!.GetValue<string>());
        Assert.Equal(["notebook"], pod["containers"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal([TokenAppRunner.Image], pod["images"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal("tok-123", pod["tokens"]!["token"]!.GetValue<string>());
        var podIp = pod["pod_ip"]!.GetValue<string>();
        Assert.StartsWith("127.", podIp);

        var stored = await Kube.CoreV1.ReadNamespacedPodAsync(podName, _namespace);
        Assert.Equal(ClusterAgentHost.Alice, stored.Metadata.Annotations[SidecarsAnnotations.User]);
        Assert.Equal("""{"notebook":{"THEME":"dark"}}""", stored.Metadata.Annotations[SidecarsAnnotations.Settings]);
        var ingress = await Kube.NetworkingV1.ReadNamespacedIngressAsync(podName, _namespace);
        Assert.Equal($"{podName}.{IngressDomain}", Assert.Single(ingress.Spec.Rules).Host);
        Assert.Equal("wildcard-tls", Assert.Single(ingress.Spec.Tls).SecretName);
        Assert.Equal(podName, ingress.Spec.Rules[0].Http.Paths[0].Backend.Service.Name);
        var service = await Kube.CoreV1.ReadNamespacedServiceAsync(podName, _namespace);
        Assert.Equal(stored.Metadata.Uid, Assert.Single(service.Metadata.OwnerReferences).Uid);
        var tokenSecret = await Kube.CoreV1.ReadNamespacedSecretAsync(podName + "-tokens", _namespace);
        Assert.Equal("tok-123", System.Text.Encoding.UTF8.GetString(tokenSecret.Data["token"]));

        using var portal = agent.JsonClient(ClusterAgentHost.OperatorKey);
        var owner = await GetAsync(portal, "/get_podip_owner?ip=" + podIp);
        Assert.Equal(ClusterAgentHost.Alice, owner["user_id"]!.GetValue<string>());
        Assert.Equal(podName, owner["pod_name"]!.GetValue<string>());
        using var bob = agent.JsonClient(ClusterAgentHost.BobKey);
        Assert.Equal(string.Empty, (await GetAsync(bob, "/get_podip_owner?ip=" + podIp))["user_id"]!.GetValue<string>());

        var deleting = await PostAsync(alice, "/delete_pod", new JsonObject { ["user_id"] = ClusterAgentHost.Alice, ["pod_name"] = podName });
        Assert.True(deleting["requested"]!.GetValue<bool>());
        var deleted = await PostAsync(alice, "/watch_delete_pod", new JsonObject { ["user_id"] = ClusterAgentHost.Alice, ["pod_name"] = podName });
        Assert.True(deleted["deleted"]!.GetValue<bool>());
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedPodAsync(podName, _namespace));
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedServiceAsync(podName, _namespace));
        await KubernetesWaits.UntilGoneAsync(() => Kube.NetworkingV1.ReadNamespacedIngressAsync(podName, _namespace));
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedSecretAsync(podName + "-tokens", _namespace));
        Assert.Empty((await PostAsync(alice, "/get_pods", new JsonObject { ["user_id"] = ClusterAgentHost.Alice }))["pods"]!.AsArray());
        AssertIdle(agent);
    }

    [Fact]
    public async Task Only_the_cluster_agent_reads_a_pods_token_and_no_log_shows_it()
    {
        const string token = "tok-0f8a1c2e9b7d4c55";
        _manifests.Files["/manifests/private-token.yaml"] = UserPodManifests.TokenPod(token);
        var logFile = Path.Combine(Path.GetTempPath(), $"sidecars-userpods-{Guid.NewGuid():N}.log");
        var agent = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(60), logFile: logFile);
        var alice = agent.GrpcClient(ClusterAgentHost.AliceKey);
        var podName = (await alice.CreatePodAsync(new CreatePodRequest { YamlUrl = _manifests.Url("/manifests/private-token.yaml"), UserId = ClusterAgentHost.Alice })).PodName;
        Assert.True((await alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName })).Ready);
        var view = Assert.Single((await alice.GetPodsAsync(new GetPodsRequest { UserId = ClusterAgentHost.Alice })).Pods);
        Assert.Equal(token, view.Tokens["token"]);

        // Anyone else on the pod network: no certificate, a certificate for another name, one from another CA.
        var tokenUrl = new Uri($"https://{view.PodIp}:{SidecarsNames.PodAgentTokenPort}/token/token");
        using (var anonymous = TokenReaderPki.Client(null))
        using (var wrongName = TokenReaderPki.Client(Pki.WrongName))
        using (var foreignCa = TokenReaderPki.Client(Pki.ForeignCa))
        {
            using var none = await anonymous.GetAsync(tokenUrl);
            using var named = await wrongName.GetAsync(tokenUrl);
            using var foreign = await foreignCa.GetAsync(tokenUrl);
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, named.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
            Assert.DoesNotContain(token, await none.Content.ReadAsStringAsync() + await named.Content.ReadAsStringAsync() + await foreign.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Probes and metrics stay plain HTTP on the health port, which serves no token.
        using (var plain = new HttpClient { BaseAddress = new Uri($"http://{view.PodIp}:{SidecarsNames.PodAgentHealthPort}") })
        {
            Assert.Equal("ready", await plain.GetStringAsync("/readyz"));
            var metrics = await plain.GetStringAsync("/metrics");
            Assert.Contains("sidecars_podagent_token_requests_total{outcome=\"found\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("sidecars_podagent_token_requests_total{outcome=\"forbidden\"} 2", metrics, StringComparison.Ordinal);
            using var onPlain = await plain.GetAsync("/token/token");
            Assert.Equal(HttpStatusCode.NotFound, onPlain.StatusCode);
        }

        var pod = await Kube.CoreV1.ReadNamespacedPodAsync(podName, _namespace);
        var agentLog = await File.ReadAllTextAsync(cluster.ControlPlane.Kubelet.ContainerLogPath(pod, "notebook"));
        Assert.Contains("refused (NoCertificate)", agentLog, StringComparison.Ordinal);
        Assert.Contains("Token token served to the token reader", agentLog, StringComparison.Ordinal);
        Assert.DoesNotContain(token, agentLog, StringComparison.Ordinal);
        var clusterAgentLog = await File.ReadAllTextAsync(logFile);
        Assert.Contains($"Stored 1 token(s) of pod {_namespace}/{podName}", clusterAgentLog, StringComparison.Ordinal);
        Assert.DoesNotContain(token, clusterAgentLog, StringComparison.Ordinal);
        File.Delete(logFile);
    }

    [Fact]
    public async Task A_create_repeated_with_its_request_id_answers_the_one_pod_it_made()
    {
        var agent = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(60));
        var alice = agent.GrpcClient(ClusterAgentHost.AliceKey);
        var bob = agent.GrpcClient(ClusterAgentHost.BobKey);
        CreatePodRequest Create(string user, string requestId) => new() { YamlUrl = _manifests.Url("/manifests/notebook.yaml"), UserId = user, RequestId = requestId };

        // Repeated one after the other (a caller that lost the first answer), and two at once (a caller that retried
        // while its first call was still running): one pod each.
        var first = (await alice.CreatePodAsync(Create(ClusterAgentHost.Alice, "order-17"))).PodName;
        var again = (await alice.CreatePodAsync(Create(ClusterAgentHost.Alice, "order-17"))).PodName;
        var racing = await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ => (await alice.CreatePodAsync(Create(ClusterAgentHost.Alice, "order-18"))).PodName));
        Assert.Equal(first, again);
        Assert.Single(racing.Distinct());
        Assert.NotEqual(first, racing[0]);

        // Over HTTP/JSON the same; another user's request with the same id is another pod; no id, a new pod each time.
        using var aliceJson = agent.JsonClient(ClusterAgentHost.AliceKey);
        var overJson = await PostAsync(aliceJson, "/create_pod", new JsonObject
        {
            ["yaml_url"] = _manifests.Url("/manifests/notebook.yaml"),
            ["user_id"] = ClusterAgentHost.Alice,
            ["request_id"] = "order-17",
        });
        Assert.Equal(first, overJson["pod_name"]!.GetValue<string>());
        var bobs = (await bob.CreatePodAsync(Create(ClusterAgentHost.Bob, "order-17"))).PodName;
        Assert.NotEqual(first, bobs);
        var plain = (await alice.CreatePodAsync(new CreatePodRequest { YamlUrl = _manifests.Url("/manifests/notebook.yaml"), UserId = ClusterAgentHost.Alice })).PodName;

        var pods = await Kube.CoreV1.ListNamespacedPodAsync(_namespace);
        Assert.Equal(
            new[] { first, racing[0], bobs, plain }.Order(StringComparer.Ordinal),
            pods.Items.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal));
        Assert.Equal("order-17", pods.Items.Single(p => p.Metadata.Name == first).Metadata.Annotations[UserPodKeys.RequestId]);
        Assert.True((await alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = first })).Ready);

        // Once the pod is deleted the same request makes a new one.
        await alice.DeletePodAsync(new DeletePodRequest { UserId = ClusterAgentHost.Alice, PodName = first });
        Assert.True((await alice.WatchDeletePodAsync(new WatchDeletePodRequest { UserId = ClusterAgentHost.Alice, PodName = first })).Deleted);
        var after = (await alice.CreatePodAsync(Create(ClusterAgentHost.Alice, "order-17"))).PodName;
        Assert.NotNull(await Kube.CoreV1.ReadNamespacedPodAsync(after, _namespace));

        var invalid = await Assert.ThrowsAsync<RpcException>(() => alice.CreatePodAsync(Create(ClusterAgentHost.Alice, "order 19")).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains("request_id", invalid.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_carry_their_reason_over_grpc_and_http()
    {
        var agent = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(60));
        var alice = agent.GrpcClient(ClusterAgentHost.AliceKey);

        var offList = await Assert.ThrowsAsync<RpcException>(() => alice.CreatePodAsync(new CreatePodRequest
        {
            YamlUrl = _manifests.Url("/elsewhere/notebook.yaml"),
            UserId = ClusterAgentHost.Alice,
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, offList.StatusCode);
        Assert.Contains("is not on the manifest whitelist", offList.Status.Detail);

        var malformed = await Assert.ThrowsAsync<RpcException>(() => alice.CreatePodAsync(new CreatePodRequest
        {
            YamlUrl = _manifests.Url("/manifests/broken.yaml"),
            UserId = ClusterAgentHost.Alice,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        Assert.StartsWith("invalid manifest: not valid Kubernetes YAML", malformed.Status.Detail);

        var forOther = await Assert.ThrowsAsync<RpcException>(() => alice.GetPodsAsync(new GetPodsRequest { UserId = ClusterAgentHost.Bob }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, forOther.StatusCode);

        using var aliceJson = agent.JsonClient(ClusterAgentHost.AliceKey);
        using var offListHttp = await aliceJson.PostAsJsonAsync("/create_pod", new JsonObject
        {
            ["yaml_url"] = _manifests.Url("/elsewhere/notebook.yaml"),
            ["user_id"] = ClusterAgentHost.Alice,
        });
        Assert.Equal(HttpStatusCode.Forbidden, offListHttp.StatusCode);
        Assert.Contains("is not on the manifest whitelist", await offListHttp.Content.ReadAsStringAsync());
        using var malformedHttp = await aliceJson.PostAsJsonAsync("/create_pod", new JsonObject
        {
            ["yaml_url"] = _manifests.Url("/manifests/broken.yaml"),
            ["user_id"] = ClusterAgentHost.Alice,
        });
        Assert.Equal(HttpStatusCode.BadRequest, malformedHttp.StatusCode);
        using var anonymous = agent.JsonClient(null);
        using var unauthenticated = await anonymous.PostAsJsonAsync("/get_pods", new JsonObject { ["user_id"] = ClusterAgentHost.Alice });
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);

        // Another user's pod name: every call answers as if the pod did not exist.
        var podName = (await alice.CreatePodAsync(new CreatePodRequest
        {
            YamlUrl = _manifests.Url("/manifests/notebook.yaml"),
            UserId = ClusterAgentHost.Alice,
        })).PodName;
        var bob = agent.GrpcClient(ClusterAgentHost.BobKey);
        Assert.False((await bob.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Bob, PodName = podName })).Ready);
        Assert.True((await bob.WatchDeletePodAsync(new WatchDeletePodRequest { UserId = ClusterAgentHost.Bob, PodName = podName })).Deleted);
        Assert.False((await bob.DeletePodAsync(new DeletePodRequest { UserId = ClusterAgentHost.Bob, PodName = podName })).Requested);
        Assert.Empty((await bob.DeleteAllUserAsync(new DeleteAllUserRequest { UserId = ClusterAgentHost.Bob })).PodNames);
        Assert.Empty((await bob.GetPodsAsync(new GetPodsRequest { UserId = ClusterAgentHost.Bob })).Pods);
        Assert.False((await bob.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Bob, PodName = "no-such-pod" })).Ready);
        Assert.True((await alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName })).Ready);

        // An operator acts for alice.
        var portal = agent.GrpcClient(ClusterAgentHost.OperatorKey);
        Assert.Equal([podName], (await portal.DeleteAllUserAsync(new DeleteAllUserRequest { UserId = ClusterAgentHost.Alice })).PodNames);
        Assert.True((await portal.WatchDeletePodAsync(new WatchDeletePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName })).Deleted);
        AssertIdle(agent);
    }

    [Fact]
    public async Task An_oversized_token_is_refused_and_not_cached()
    {
        var agent = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(60), tokenByteLimit: 64);
        var alice = agent.GrpcClient(ClusterAgentHost.AliceKey);
        var podName = (await alice.CreatePodAsync(new CreatePodRequest { YamlUrl = _manifests.Url("/manifests/big-token.yaml"), UserId = ClusterAgentHost.Alice })).PodName;
        Assert.True((await alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName })).Ready);

        var pod = Assert.Single((await alice.GetPodsAsync(new GetPodsRequest { UserId = ClusterAgentHost.Alice })).Pods);
        Assert.Empty(pod.Tokens);
        Assert.Equal("token 'token' is larger than the limit of 64 bytes", pod.TokenErrors["token"]);
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedSecretAsync(podName + "-tokens", _namespace));
        AssertIdle(agent);
    }

    [Fact]
    public async Task A_pod_that_never_becomes_ready_is_deleted_at_the_create_timeout()
    {
        var agent = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(8));
        var alice = agent.GrpcClient(ClusterAgentHost.AliceKey);
        var podName = (await alice.CreatePodAsync(new CreatePodRequest { YamlUrl = _manifests.Url("/manifests/stuck.yaml"), UserId = ClusterAgentHost.Alice })).PodName;

        // A watch the caller abandons leaves nothing behind.
        using (var abandon = new CancellationTokenSource())
        {
            var call = alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName }, cancellationToken: abandon.Token);
            await WaitUntilAsync(() => agent.Diagnostics.ActiveWaiters == 1, "the abandoned watch to be waiting");
            await abandon.CancelAsync();
            await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
            await WaitUntilAsync(() => agent.Diagnostics.ActiveWaiters == 0, "the abandoned watch to end on the server");
        }

        Assert.False((await alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName })).Ready);
        await Kube.WaitForPodAsync(_namespace, podName, p => p is null, "the never-ready pod to be deleted");
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedServiceAsync(podName, _namespace));
        Assert.True((await alice.WatchDeletePodAsync(new WatchDeletePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName })).Deleted);
        AssertIdle(agent);
    }

    [Fact]
    public async Task A_pod_whose_creation_never_finished_is_nobodys_answer_and_is_deleted_with_its_objects_at_the_create_timeout()
    {
        // What a cluster agent killed between a pod's Service and its Ingress leaves: the pod, still marked unfinished, and its Service.
        var agent = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(30));
        var manifest = ManifestParser.Parse(UserPodManifests.TokenPod("tok-123"));
        var pod = UserPodFactory.BuildPod(manifest, ClusterAgentHost.Alice, null, new UserPodsOptions { Namespace = _namespace, IngressDomain = IngressDomain }, "c0ffee");
        var created = await Kube.CoreV1.CreateNamespacedPodAsync(pod, _namespace);
        var podName = created.Metadata.Name;
        await Kube.CoreV1.CreateNamespacedServiceAsync(UserPodFactory.BuildService(manifest.Service!, created), _namespace);

        // Ready, but never reported: not listed, not marked Ready, and watch_create_pod answers false at the deadline.
        await Kube.WaitForPodAsync(_namespace, podName, p => p is not null && p.IsReady(), "the unfinished pod to be Ready");
        var alice = agent.GrpcClient(ClusterAgentHost.AliceKey);
        Assert.Empty((await alice.GetPodsAsync(new GetPodsRequest { UserId = ClusterAgentHost.Alice })).Pods);
        Assert.False((await alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = podName })).Ready);
        await Kube.WaitForPodAsync(_namespace, podName, p => p is null, "the unfinished pod to be deleted");
        await KubernetesWaits.UntilGoneAsync(() => Kube.CoreV1.ReadNamespacedServiceAsync(podName, _namespace));
        Assert.Empty((await Kube.CoreV1.ListNamespacedSecretAsync(_namespace, labelSelector: UserPodKeys.TokensFor + "=" + podName)).Items);
        AssertIdle(agent);
    }

    [Fact]
    public async Task After_a_restart_deadlines_and_tokens_are_recovered_from_the_cluster()
    {
        var first = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(20));
        var alice = first.GrpcClient(ClusterAgentHost.AliceKey);
        var ready = (await alice.CreatePodAsync(new CreatePodRequest { YamlUrl = _manifests.Url("/manifests/notebook.yaml"), UserId = ClusterAgentHost.Alice })).PodName;
        Assert.True((await alice.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = ClusterAgentHost.Alice, PodName = ready })).Ready);
        var stuck = (await alice.CreatePodAsync(new CreatePodRequest { YamlUrl = _manifests.Url("/manifests/stuck.yaml"), UserId = ClusterAgentHost.Alice })).PodName;
        _hosts.Remove(first);
        await first.DisposeAsync();

        // Nobody watches the stuck pod: the restarted agent deletes it at its original deadline.
        var second = await StartAgentAsync(createTimeout: TimeSpan.FromSeconds(20));
        await Kube.WaitForPodAsync(_namespace, stuck, p => p is null, "the restarted agent to delete the never-ready pod", TimeSpan.FromSeconds(60));
        var pods = (await second.GrpcClient(ClusterAgentHost.AliceKey).GetPodsAsync(new GetPodsRequest { UserId = ClusterAgentHost.Alice })).Pods;
        var survivor = Assert.Single(pods);
        Assert.Equal(ready, survivor.PodName);
        Assert.Equal("tok-123", survivor.Tokens["token"]);
        AssertIdle(second);
    }

    private async Task<ClusterAgentHost> StartAgentAsync(TimeSpan createTimeout, int tokenByteLimit = 4096, string? logFile = null)
    {
        var host = await ClusterAgentHost.StartAsync(cluster.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
        {
            ["namespace"] = _namespace,
            ["createTimeout"] = createTimeout.ToString(),
            ["deleteTimeout"] = "00:01:00",
            ["manifestWhitelist"] = $@"http://127\.0\.0\.1:{_manifests.Address.Port}/manifests/[a-z-]+\.yaml",
            ["ingressDomain"] = IngressDomain,
            ["ingressTlsSecret"] = "wildcard-tls",
            ["tokenByteLimit"] = tokenByteLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["tokenFetchTimeout"] = "00:00:10",
            ["tokenClientCertificateFile"] = Pki.Reader.Certificate,
            ["tokenClientKeyFile"] = Pki.Reader.Key,
        }, logFile);
        _hosts.Add(host);
        return host;
    }

    private static void AssertIdle(ClusterAgentHost agent)
    {
        Assert.Equal(0, agent.Diagnostics.ActiveTasks);
        Assert.Equal(0, agent.Diagnostics.ActiveWaiters);
    }

    private static async Task<JsonNode> PostAsync(HttpClient client, string path, JsonObject body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<JsonNode> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => Eventually.UntilAsync(condition, what, TimeSpan.FromSeconds(60));
}
