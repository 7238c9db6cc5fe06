using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Identity.Blessings;
using Sidecars.Kubernetes.Leadership;
using Sidecars.PodAgent;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Tokens;
using Xunit.Abstractions;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The install guide of the README, step for step, as a new user follows it on a real node: images built and pushed,
/// <c>kubectl apply -k</c>, a namespace labelled, an ordinary user's workload applied with kubectl, everything checked
/// from outside; then the user-pods API through its Service, a cluster agent killed, the webhook rolled during pod
/// creates, and <c>kubectl delete -k</c>. No Sidecars component is refused anything by the apiserver meanwhile.
/// </summary>
[Collection(RealNodeCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class InstallScenarioTests(RealNodeFixture fixture, ITestOutputHelper output)
{
    private const string Blessing = "scenario";
    private const string Network = "scenario-net";
    private const string UserName = "alice";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);

    private LaneCluster Cluster => fixture.Cluster;

    [RealNodeFact]
    public async Task A_new_user_installs_with_kubectl_apply_k_and_every_part_works_on_a_real_node()
    {
        var total = Stopwatch.StartNew();

        // 0. Nothing installed yet (an earlier run's install removed): sidecarsctl check fails and says why.
        await StepAsync("no install left from earlier runs", () => RemoveInstallAsync());
        // From here on every refusal of a Sidecars component counts (the removal above may refuse the old replicas).
        var forbiddenBefore = AuditLog.Forbidden().Count;
        await StepAsync("sidecarsctl check fails before the install, with reasons", async () =>
        {
            var (exit, output) = await CheckInstallAsync();
            Assert.True(exit == 1, output);
            Assert.Contains($"[FAIL] webhook configuration: MutatingWebhookConfiguration {SidecarsInstall.Webhook} not found", output, StringComparison.Ordinal);
            Assert.Contains("(hint: ", output, StringComparison.Ordinal);
        });

        // 1. Build and push the images (unchanged images are not rebuilt), 2. install.
        await StepAsync("images built and pushed", () => Lane.ImagesAsync());
        await StepAsync("kubectl apply -k deploy/overlays/kubernetes-1.20", () => SidecarsInstall.ApplyAsync(Cluster, InstallTimeout));

        // 3. The platform team, with the sidecars-admin token: a root, and an application secret for the blessing.
        using var agent = await ClusterAgentConnection.OpenAsync(Cluster);
        var (root, applicationSecret) = await StepAsync("identity root and application secret (admin by TokenReview)", () => ClaimAsync(agent));

        // 4. A namespace opted in, where an ordinary user may do what `edit` allows.
        var ns = await Cluster.NewNamespaceAsync("scenario", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
        await Cluster.KubectlAsync(["create", "rolebinding", "alice-edit", "-n", ns, "--clusterrole=edit", "--user=" + UserName]);
        var data = Path.Combine(Lane.StateDirectory, "volumes", ns);
        await Cluster.KubectlAsync(["apply", "-n", ns, "-f", "-"], Manifests.DataClaim(ns, UserName, data));

        // 5. The user applies the application: its secret, a Deployment and a copy-token pod.
        using var user = LaneUser.Create(UserName);
        var refused = await user.KubectlAsync(["get", "pods", "-n", SidecarsInstall.Namespace]);
        Assert.False(refused.Succeeded, "the ordinary user can read sidecars-system");
        var token = Guid.NewGuid().ToString("N");
        var applied = await user.KubectlAsync(
            ["apply", "-n", ns, "-f", "-"],
            Manifests.ApplicationSecret(Blessing, applicationSecret) + "\n---\n" + Manifests.BlessedNetworkDeployment("app", Blessing, Network, 3)
            + "\n---\n" + Manifests.FeaturesPod("copy-token", token));
        Assert.True(applied.Succeeded, $"kubectl apply as {UserName}: {applied.Error}");

        // From here each step is checked on its own, and the scenario fails at the end with every step that failed;
        // a step that needs another's result is left out when that one failed.
        var failed = new List<string>();
        await CheckAsync(failed, "the copy-token pod Ready with its token, settings and data volume", async () =>
        {
            var copyToken = await Cluster.Client.WaitForPodAsync(ns, "copy-token", p => p is not null && p.IsReady(), "copy-token Ready", ReadyTimeout);
            AssertRunsInRealContainers(copyToken!);
            // The token port answers only the cluster agent's certificate (read here from its Secret, as an admin can).
            var tokenUrl = $"https://{copyToken!.Status.PodIP}:{SidecarsNames.PodAgentTokenPort}/token/token";
            using (var anonymous = TokenReaderPki.Client(null))
            using (var refused = await anonymous.GetAsync(tokenUrl))
            {
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
            }

            // The CA bundle reaches a namespace labelled just now at the kubelet's next sync of the pod's optional
            // ConfigMap volume (about a minute); until then the pod-agent serves its tokens to nobody (403).
            using var reader = TokenReaderPki.Client(await ClusterAgentPairAsync());
            var served = string.Empty;
            await Eventually.UntilAsync(
                async () =>
                {
                    using var answer = await reader.GetAsync(tokenUrl);
                    served = answer.IsSuccessStatusCode ? await answer.Content.ReadAsStringAsync() : string.Empty;
                    return answer.StatusCode != System.Net.HttpStatusCode.Forbidden;
                },
                "the copy-token pod's token served to the cluster agent's certificate",
                TimeSpan.FromMinutes(3));
            Assert.Equal(token, served);
            Assert.Contains("greeting: hello from settings", await Cluster.KubectlAsync(["logs", "-n", ns, "copy-token", "-c", "app"]));
            Assert.Equal("written", await File.ReadAllTextAsync(Path.Combine(data, "from-pod")));
        });

        // 6. The blessed replicas: Ready with their sidecars, each signing through its agent socket with a distinct
        // blessing that verifies against the cluster agent's root; their lightpeers form the network.
        IReadOnlyList<V1Pod>? pods = null;
        await CheckAsync(failed, "3 blessed replicas Ready in real containers, each signing, verified against the root", async () =>
        {
            pods = await ReadyReplicasAsync(ns, "app", 3);
            foreach (var pod in pods)
            {
                AssertRunsInRealContainers(pod);
                Assert.Equal(
                    new[] { "app", SidecarsNames.LightpeerContainer, SidecarsNames.PodAgentContainer }, pod.Spec.Containers.Select(c => c.Name).Order(StringComparer.Ordinal));
            }

            Assert.Equal("written", await Cluster.KubectlAsync(["exec", "-n", ns, pods[0].Metadata.Name, "-c", "app", "--", "cat", "/sciencedata/from-pod"]));
            var names = await SignAndVerifyAsync(pods, root);
            Assert.Equal(3, names.Distinct(StringComparer.Ordinal).Count());
            Assert.All(names, n => Assert.Contains(Blessing, n, StringComparison.Ordinal));
        });
        if (pods is not null)
        {
            await CheckAsync(failed, "the lightpeers know each other", () => NetworkFormedAsync(pods));
            await CheckAsync(failed, "the sidecars run under the profile the DaemonSet keeps on the node, faults mapping only the page touched", () => SeccompProfileAsync(pods[0]));
        }

        // 7. The user-pods API through its Service.
        await CheckAsync(failed, "user-pods API: create, watch Ready, token, IP owner, delete", UserPodsApiAsync);

        // 8. The leading cluster agent pod killed: the other takes the Lease and serves, the Deployment replaces the
        // killed one, a replica scaled up afterwards gets its blessing and is joined to the network by the new leader.
        await CheckAsync(failed, "leading cluster agent pod killed: the other leads, a replica scaled up afterwards blessed and joined", () => ClusterAgentTakeoverAsync(ns, root, pods is not null));

        // 9. The webhook rolled while pods are created in the opted-in namespace: none fails.
        await CheckAsync(failed, "webhook rolling update during pod creates: 0 failed", WebhookRolloutAsync);

        // 10. sidecarsctl check, against the running install, passes.
        await CheckAsync(failed, "sidecarsctl check passes after the install", async () =>
        {
            var (exit, output) = await CheckInstallAsync();
            Assert.True(exit == 0, output);
            Assert.Contains($"[ok]   cluster agent {SidecarsInstall.Namespace}/{SidecarsInstall.ClusterAgent}", output, StringComparison.Ordinal);
            Assert.Contains($"[ok]   rbac {SidecarsInstall.Namespace}/sidecars-cluster-agent: all ", output, StringComparison.Ordinal);
            Assert.Contains($"[ok]   node profiles {SidecarsInstall.Namespace}/{SidecarsInstall.NodeProfiles}: {SidecarsNames.SeccompProfile} kept on 1/1 nodes", output, StringComparison.Ordinal);
            Assert.Contains("check passed", output, StringComparison.Ordinal);
        });

        var forbidden = AuditLog.Forbidden().Skip(forbiddenBefore).ToList();
        if (forbidden.Count > 0)
        {
            failed.Add($"the apiserver refused Sidecars' components {forbidden.Count} times:\n{string.Join('\n', forbidden.Distinct())}");
        }

        // 11. Uninstall: nothing fails closed afterwards.
        try
        {
            await CheckAsync(failed, "kubectl delete -k, then a pod create succeeds", () => UninstallAsync(ns));
        }
        finally
        {
            // The collection's other tests expect the installation.
            await StepAsync("reinstall for the collection", () => SidecarsInstall.ApplyAsync(Cluster, InstallTimeout));
        }

        output.WriteLine($"scenario wall time: {total.Elapsed.TotalSeconds:0} s");
        Assert.True(failed.Count == 0, $"{failed.Count} steps failed:\n{string.Join("\n\n", failed)}");
    }

    private async Task CheckAsync(List<string> failed, string step, Func<Task> action)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await action();
            output.WriteLine($"{step}: {clock.Elapsed.TotalSeconds:0.0} s");
        }
        catch (Exception e) when (e is Xunit.Sdk.XunitException or TimeoutException or RpcException or k8s.Autorest.HttpOperationException or HttpRequestException or InvalidOperationException)
        {
            output.WriteLine($"{step}: FAILED after {clock.Elapsed.TotalSeconds:0.0} s");
            failed.Add($"{step}: {e.Message}");
        }
    }

    /// <summary>
    /// The node-profiles DaemonSet wrote Sidecars' seccomp profile where the kubelet reads it (this machine is the
    /// node), the webhook named it for the sidecars and deploy/ for the webhook, and under it userfaultfd is allowed: both
    /// sidecars and the webhook say that a fault maps back only the page touched, where the runtime's default profile
    /// would have refused the call.
    /// </summary>
    private async Task SeccompProfileAsync(V1Pod pod)
    {
        var onNode = Path.Combine("/var/lib/kubelet/seccomp", SidecarsNames.SeccompProfile);
        Assert.Equal(Sidecars.Seccomp.SidecarsSeccompProfile.Content.ToArray(), await File.ReadAllBytesAsync(onNode));
        var webhook = (await SidecarsInstall.PodsOfAsync(Cluster, SidecarsInstall.Webhook))[0];
        foreach (var (running, name) in new[] { (pod, SidecarsNames.PodAgentContainer), (pod, SidecarsNames.LightpeerContainer), (webhook, "webhook") })
        {
            var profile = running.Spec.Containers.Single(c => c.Name == name).SecurityContext.SeccompProfile;
            Assert.Equal(("Localhost", SidecarsNames.SeccompProfile), (profile.Type, profile.LocalhostProfile));
            await Eventually.HoldsAsync(
                async () =>
                {
                    var log = await Cluster.KubectlAsync(["logs", "-n", running.Metadata.NamespaceProperty, running.Metadata.Name, "-c", name]);
                    return (log.Contains("a fault maps back only the page touched", StringComparison.Ordinal), log);
                },
                $"{running.Metadata.Name}/{name} to say that a fault maps back only the page touched",
                TimeSpan.FromMinutes(1));
        }
    }

    private static void AssertRunsInRealContainers(V1Pod pod)
    {
        Assert.Equal(UserName, pod.Metadata.Labels[SidecarsLabels.Owner]);
        Assert.All(pod.Status.ContainerStatuses, s => Assert.True(
            s.Ready && s.State.Running is not null && s.ContainerID.StartsWith("containerd://", StringComparison.Ordinal),
            $"{pod.Metadata.Name}/{s.Name} not running Ready in containerd"));
    }

    private async Task<(X509Certificate2 Root, string Secret)> ClaimAsync(ClusterAgentConnection agent)
    {
        var identity = new Contracts.V1.Identity.IdentityClient(agent.Channel);
        var headers = new Metadata { { "authorization", "Bearer " + await AdminTokenAsync() } };

        // Without credentials the admin calls are refused. A replica that became Ready a moment ago may not be reached
        // through the Service yet (Unavailable): the refusal is what must come.
        await Eventually.HoldsAsync(
            async () =>
            {
                var anonymous = await Assert.ThrowsAsync<RpcException>(() => identity.NewSecretAsync(new NewSecretRequest { Extension = Blessing }).ResponseAsync);
                return (anonymous.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied, anonymous.Status.ToString());
            },
            "the cluster agent refusing an admin call without credentials",
            TimeSpan.FromMinutes(1));

        try
        {
            await identity.ClaimAsync(new ClaimRequest { Blessing = "sidecars" }, headers);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.AlreadyExists or StatusCode.FailedPrecondition)
        {
            // Claimed by an earlier run on this installation: the root stays.
        }

        var roots = await identity.GetTrustRootsAsync(new GetTrustRootsRequest());
        var root = X509CertificateLoader.LoadCertificate(roots.Certificates[0].ToByteArray());
        var secret = await identity.NewSecretAsync(new NewSecretRequest { Extension = Blessing }, headers);
        return (root, secret.Secret);
    }

    /// <summary>The cluster agent's serving pair (its token reader certificate), from its Secret, as files.</summary>
    private async Task<(string Certificate, string Key)> ClusterAgentPairAsync()
    {
        var secret = await Cluster.Client.CoreV1.ReadNamespacedSecretAsync(SidecarsNames.ClusterAgentTlsSecret, SidecarsInstall.Namespace);
        var directory = Directory.CreateTempSubdirectory("sidecars-token-reader-").FullName;
        var pair = (Path.Combine(directory, "tls.crt"), Path.Combine(directory, "tls.key"));
        await File.WriteAllBytesAsync(pair.Item1, secret.Data[SidecarsNames.ClusterAgentTlsCertificateKey]);
        await File.WriteAllBytesAsync(pair.Item2, secret.Data[SidecarsNames.ClusterAgentTlsKeyKey]);
        return pair;
    }

    /// <summary>The token of ServiceAccount sidecars-admin (1.20 keeps it in a Secret; 1.24+ `kubectl create token`).</summary>
    private async Task<string> AdminTokenAsync()
    {
        string? name = null;
        await Eventually.UntilAsync(
            async () =>
            {
                var account = await Cluster.Client.CoreV1.ReadNamespacedServiceAccountAsync("sidecars-admin", SidecarsInstall.Namespace);
                name = account.Secrets?.FirstOrDefault()?.Name;
                return name is not null;
            },
            "the token Secret of sidecars-admin",
            TimeSpan.FromSeconds(60));
        var secret = await Cluster.Client.CoreV1.ReadNamespacedSecretAsync(name!, SidecarsInstall.Namespace);
        return System.Text.Encoding.UTF8.GetString(secret.Data["token"]);
    }

    private async Task<IReadOnlyList<V1Pod>> ReadyReplicasAsync(string ns, string app, int count)
    {
        IReadOnlyList<V1Pod> ready = [];
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    var pods = (await Cluster.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app=" + app)).Items
                        .Where(p => p.Metadata.DeletionTimestamp is null).ToList();
                    ready = [.. pods.Where(p => p.IsReady())];
                    return ready.Count == count && pods.Count == count;
                },
                $"{count} Ready replicas of {ns}/{app}",
                ReadyTimeout);
        }
        catch (TimeoutException e)
        {
            var pods = (await Cluster.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app=" + app)).Items;
            var events = new List<string>();
            foreach (var pod in pods)
            {
                events.Add($"{pod.Metadata.Name}: {string.Join("; ", await Cluster.EventsOfAsync(ns, pod.Metadata.Name))}");
            }

            throw new TimeoutException($"{e.Message}\n{string.Join('\n', events)}", e);
        }

        return ready;
    }

    private static async Task<IReadOnlyList<string>> SignAndVerifyAsync(IReadOnlyList<V1Pod> pods, X509Certificate2 root)
    {
        var verifier = new BlessingVerifier([root]);
        var names = new List<string>();
        foreach (var pod in pods)
        {
            using var link = new SocketLink(pod);
            using var channel = PodAgentSocket.CreateChannel(link.Socket);
            var client = new Contracts.V1.PodAgent.PodAgentClient(channel);
            var data = RandomNumberGenerator.GetBytes(64);
            var blessing = await client.GetBlessingsAsync(new GetBlessingsRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            var signed = await client.SignAsync(new SignRequest { Data = ByteString.CopyFrom(data) }, deadline: DateTime.UtcNow.AddSeconds(10));
            byte[][] chain = [.. blessing.Chain.Select(c => c.ToByteArray())];
            var verification = verifier.Verify(chain, DateTimeOffset.UtcNow);
            Assert.True(verification.IsValid, $"{pod.Metadata.Name}'s blessing {blessing.Name} does not chain to the cluster agent's root");
            using var leaf = X509CertificateLoader.LoadCertificate(chain[0]);
            using var key = leaf.GetECDsaPublicKey()!;
            Assert.True(
                key.VerifyData(data, signed.Signature.ToByteArray(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
                $"{pod.Metadata.Name}'s signature does not verify with its blessing's key");
            Assert.Equal(blessing.Name, signed.Blessing);
            names.Add(blessing.Name);
        }

        return names;
    }

    private Task NetworkFormedAsync(IReadOnlyList<V1Pod> pods)
    {
        var addresses = pods.Select(p => $"{p.Status.PodIP}:{SidecarsNames.LightpeerDefaultPort}").ToList();
        return Eventually.HoldsAsync(
            async () =>
            {
                var seen = new List<string>();
                var formed = true;
                foreach (var address in addresses)
                {
                    var peers = await InjectionTests.PeersOfAsync(Cluster, pods[0].Metadata.NamespaceProperty, address);
                    formed &= peers.SequenceEqual(addresses.Where(a => a != address).Order(StringComparer.Ordinal));
                    seen.Add($"{address} knows [{string.Join(",", peers)}]");
                }

                return (formed, string.Join("; ", seen));
            },
            "every lightpeer to list every other",
            TimeSpan.FromMinutes(3));
    }

    private async Task UserPodsApiAsync()
    {
        // The platform team gives a portal its key, and (here) lets the API take manifests from this host.
        await using var manifests = await ManifestServer.StartAsync(Manifests.UserPod);
        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        await Cluster.KubectlAsync(["create", "secret", "generic", "sidecars-user-pods-caller", "-n", SidecarsInstall.Namespace,
            "--from-literal=key=" + key, "--from-literal=userId=portal", "--from-literal=operator=true"]);
        await Cluster.KubectlAsync(["set", "env", "deployment/" + SidecarsInstall.ClusterAgent, "-n", SidecarsInstall.Namespace,
            "Sidecars__UserPods__ManifestWhitelist=" + manifests.Whitelist]);
        await SidecarsInstall.WaitAvailableAsync(Cluster, InstallTimeout);

        var service = await Cluster.Client.CoreV1.ReadNamespacedServiceAsync("sidecars-user-pods-api", SidecarsInstall.Namespace);
        using var channel = await ClusterAgentConnection.OpenAsync(Cluster, "sidecars-user-pods-api", service.Spec.ClusterIP, 443);
        var api = new UserPods.UserPodsClient(channel.Channel);
        var headers = new Metadata { { "authorization", "Bearer " + key } };
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(() => api.GetPodsAsync(new GetPodsRequest { UserId = "bob" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);

        var created = await api.CreatePodAsync(new CreatePodRequest { YamlUrl = manifests.Url, UserId = "bob" }, headers);
        var ready = await api.WatchCreatePodAsync(new WatchCreatePodRequest { UserId = "bob", PodName = created.PodName }, headers, deadline: DateTime.UtcNow.Add(ReadyTimeout));
        Assert.True(ready.Ready, $"user pod {created.PodName} did not become Ready");
        UserPodInfo? info = null;
        await Eventually.UntilAsync(
            async () =>
            {
                info = (await api.GetPodsAsync(new GetPodsRequest { UserId = "bob" }, headers)).Pods.SingleOrDefault(p => p.PodName == created.PodName);
                return info?.Tokens.ContainsKey("token") == true;
            },
            $"the token of user pod {created.PodName}",
            TimeSpan.FromSeconds(60));
        Assert.Equal(manifests.Token, info!.Tokens["token"]);
        var owner = await api.GetPodIpOwnerAsync(new GetPodIpOwnerRequest { Ip = info.PodIp }, headers);
        Assert.Equal(("bob", created.PodName), (owner.UserId, owner.PodName));
        Assert.True((await api.DeletePodAsync(new DeletePodRequest { UserId = "bob", PodName = created.PodName }, headers)).Requested);
        var deleted = await api.WatchDeletePodAsync(new WatchDeletePodRequest { UserId = "bob", PodName = created.PodName }, headers, deadline: DateTime.UtcNow.AddMinutes(2));
        Assert.True(deleted.Deleted);

        // The Ingress for portals is an object only here: the lane has no ingress controller.
        var ingress = await Cluster.Client.NetworkingV1.ReadNamespacedIngressAsync("sidecars-user-pods-api", SidecarsInstall.Namespace);
        Assert.Equal("sidecars-user-pods-api", ingress.Spec.Rules[0].Http.Paths[0].Backend.Service.Name);
    }

    private async Task ClusterAgentTakeoverAsync(string ns, X509Certificate2 root, bool blessed)
    {
        var agents = await SidecarsInstall.PodsOfAsync(Cluster, SidecarsInstall.ClusterAgent);
        Assert.Equal(2, agents.Count);
        var lease = LeadershipServiceCollectionExtensions.LeaseName(ElectedComponents.ClusterAgent);
        var leader = (await LeaderPodAsync(agents, lease))!;
        var survivor = agents.Single(p => p.Metadata.Uid != leader.Metadata.Uid);
        await Cluster.Client.CoreV1.DeleteNamespacedPodAsync(leader.Metadata.Name, SidecarsInstall.Namespace, gracePeriodSeconds: 0);

        // The survivor takes the Lease: at once if the killed leader released it as it stopped, else once it expires.
        await Eventually.UntilAsync(
            async () => (await LeaderPodAsync([survivor], lease, mustMatch: false))?.Metadata.Uid == survivor.Metadata.Uid,
            $"Lease {lease} taken by the surviving replica {survivor.Metadata.Name}",
            InstallTimeout);
        await SidecarsInstall.WaitAvailableAsync(Cluster, InstallTimeout);
        Assert.DoesNotContain(await SidecarsInstall.PodsOfAsync(Cluster, SidecarsInstall.ClusterAgent), p => p.Metadata.Uid == leader.Metadata.Uid);
        using var agent = await ClusterAgentConnection.OpenAsync(Cluster);
        await new Contracts.V1.Identity.IdentityClient(agent.Channel).GetTrustRootsAsync(new GetTrustRootsRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        if (!blessed)
        {
            Assert.Fail("the replicas were never blessed, so a scaled-up replica's blessing cannot be checked");
        }

        await Cluster.KubectlAsync(["scale", "deployment/app", "-n", ns, "--replicas=4"]);
        var pods = await ReadyReplicasAsync(ns, "app", 4);
        var names = await SignAndVerifyAsync(pods, root);
        Assert.Equal(4, names.Distinct(StringComparer.Ordinal).Count());
        // Joining the new replica is the leader's work: the network controller moved with the Lease.
        await NetworkFormedAsync(pods);
    }

    /// <summary>
    /// The pod among <paramref name="candidates"/> that holds the Lease (holder identities begin with the pod's host
    /// name); with <paramref name="mustMatch"/> a holder that is none of them fails the step.
    /// </summary>
    private async Task<V1Pod?> LeaderPodAsync(IReadOnlyList<V1Pod> candidates, string lease, bool mustMatch = true)
    {
        var holder = (await Cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync(lease, SidecarsInstall.Namespace)).Spec.HolderIdentity;
        var pod = candidates.SingleOrDefault(p => holder?.StartsWith(p.Metadata.Name + "_", StringComparison.Ordinal) == true);
        Assert.True(pod is not null || !mustMatch, $"Lease {lease} is held by '{holder}', none of {string.Join(", ", candidates.Select(p => p.Metadata.Name))}");
        return pod;
    }

    /// <summary><c>sidecarsctl check</c> as the lane's administrator runs it.</summary>
    private async Task<(int ExitCode, string Output)> CheckInstallAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        return await BuiltHosts.RunAsync(BuiltHosts.Cli, new Dictionary<string, string>(), ["check", "--kubeconfig", Cluster.Kubeconfig], timeout.Token);
    }

    /// <summary>Removes an install left by an earlier run, as a user uninstalls (<c>kubectl delete -k</c>).</summary>
    /// <remarks>
    /// The deletes are issued and the namespaces awaited here rather than by <c>kubectl --wait</c>, whose wait the lane
    /// bounds at two minutes: a namespace goes once the node has stopped its pods and the namespace controller's next pass
    /// finds it empty, which on a busy node can take longer. A timeout says what still holds each namespace.
    /// </remarks>
    private async Task RemoveInstallAsync()
    {
        await Cluster.KubectlAsync(["delete", "-k", SidecarsInstall.Overlay, "--ignore-not-found=true", "--wait=false"]);
        async Task<List<V1Namespace>> LeftAsync() =>
            [.. (await Cluster.Client.CoreV1.ListNamespaceAsync()).Items.Where(n => SidecarsInstall.Namespaces.Contains(n.Metadata.Name))];
        try
        {
            await Eventually.UntilAsync(async () => (await LeftAsync()).Count == 0, "the namespaces of deploy/ gone", InstallTimeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Left: {await DescribeAsync(await LeftAsync())}", e);
        }
    }

    /// <summary>Each namespace with its conditions that hold and the pods still in it.</summary>
    private async Task<string> DescribeAsync(IReadOnlyList<V1Namespace> namespaces)
    {
        var described = new List<string>();
        foreach (var n in namespaces)
        {
            var conditions = (n.Status?.Conditions ?? []).Where(c => c.Status == "True").Select(c => $"{c.Type}: {c.Message}");
            var pods = (await Cluster.Client.CoreV1.ListNamespacedPodAsync(n.Metadata.Name)).Items
                .Select(p => $"{p.Metadata.Name} ({p.Status?.Phase}, deleted at {p.Metadata.DeletionTimestamp:O})");
            described.Add($"{n.Metadata.Name} ({n.Status?.Phase}): conditions [{string.Join("; ", conditions)}], pods [{string.Join(", ", pods)}]");
        }

        return string.Join(" | ", described);
    }

    private async Task WebhookRolloutAsync()
    {
        const int Creates = 200;
        var ns = await Cluster.NewNamespaceAsync("rollout", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
        var before = (await Cluster.Client.AppsV1.ReadNamespacedDeploymentAsync(SidecarsInstall.Webhook, SidecarsInstall.Namespace)).Metadata.Generation;
        await Cluster.KubectlAsync(["set", "env", "deployment/" + SidecarsInstall.Webhook, "-n", SidecarsInstall.Namespace, "SIDECARS_ROLLOUT=" + Guid.NewGuid().ToString("N")[..8]]);

        try
        {
            // Pods that never leave Pending (no node matches): admission is all that is exercised.
            var failures = new List<string>();
            var created = 0;
            var rolledOutAt = -1;
            while (created < Creates || rolledOutAt < 0)
            {
                try
                {
                    var pod = await Cluster.Client.CoreV1.CreateNamespacedPodAsync(Manifests.PendingPod($"p{created}"), ns);
                    Assert.Equal(UserNameOfAdmin, pod.Metadata.Labels[SidecarsLabels.Owner]);
                }
                catch (k8s.Autorest.HttpOperationException e)
                {
                    failures.Add($"p{created}: {e.Response.StatusCode} {e.Response.Content}");
                }

                created++;
                if (rolledOutAt < 0 && await RolledOutAsync(before))
                {
                    rolledOutAt = created;
                }

                Assert.True(created < 2000, "the webhook rollout did not finish within 2000 pod creates");
            }

            output.WriteLine($"webhook rollout finished after {rolledOutAt} creates; {created} creates, {failures.Count} failed");
            Assert.True(rolledOutAt > 1, "the rollout finished before the first create");
            Assert.True(failures.Count == 0, $"{failures.Count} pod creates failed during the webhook rollout:\n{string.Join('\n', failures.Take(10))}");
        }
        finally
        {
            await Cluster.Client.CoreV1.DeleteNamespaceAsync(ns);
        }
    }

    /// <summary>The lane's admin certificate names "admin", the owner the webhook records for its pods.</summary>
    private const string UserNameOfAdmin = "admin";

    private async Task<bool> RolledOutAsync(long? before)
    {
        var d = await Cluster.Client.AppsV1.ReadNamespacedDeploymentAsync(SidecarsInstall.Webhook, SidecarsInstall.Namespace);
        return d.Metadata.Generation > before && d.Status.ObservedGeneration >= d.Metadata.Generation
            && d.Status.UpdatedReplicas == d.Spec.Replicas && d.Status.Replicas == d.Spec.Replicas && d.Status.AvailableReplicas == d.Spec.Replicas;
    }

    private async Task UninstallAsync(string ns)
    {
        await RemoveInstallAsync();
        var configurations = await Cluster.Client.AdmissionregistrationV1.ListMutatingWebhookConfigurationAsync();
        Assert.DoesNotContain(configurations.Items, c => c.Metadata.Name == SidecarsInstall.Webhook);
        var pod = await Cluster.Client.CoreV1.CreateNamespacedPodAsync(Manifests.PendingPod("after-uninstall"), ns);
        Assert.False(pod.Metadata.Labels?.ContainsKey(SidecarsLabels.Owner) ?? false, "a pod admitted after the uninstall was still mutated");
    }

    private async Task StepAsync(string step, Func<Task> action)
    {
        var clock = Stopwatch.StartNew();
        await action();
        output.WriteLine($"{step}: {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private async Task<T> StepAsync<T>(string step, Func<Task<T>> action)
    {
        var clock = Stopwatch.StartNew();
        var result = await action();
        output.WriteLine($"{step}: {clock.Elapsed.TotalSeconds:0.0} s");
        return result;
    }

    /// <summary>
    /// The pod's agent socket as the node holds it (the kubelet's emptyDir of the pod), through a short link: the
    /// path is longer than a socket address allows.
    /// </summary>
    private sealed class SocketLink : IDisposable
    {
        private readonly string _link;

        public SocketLink(V1Pod pod)
        {
            var volume = Path.Combine(Lane.StateDirectory, "kubelet", "pods", pod.Metadata.Uid, "volumes", "kubernetes.io~empty-dir", SidecarsNames.SocketVolume);
            Assert.True(Directory.Exists(volume), $"no socket volume at {volume}");
            _link = Path.Combine(Path.GetTempPath(), "sc-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateSymbolicLink(_link, volume);
        }

        public string Socket => Path.Combine(_link, Path.GetFileName(SidecarsNames.SocketPath));

        public void Dispose() => File.Delete(_link);
    }
}

/// <summary>
/// gRPC to the cluster agent over its Service as a client outside the cluster: to the Service's address, verifying
/// the serving certificate for its DNS name against ca.crt of sidecars-cluster-agent-tls.
/// </summary>
internal sealed class ClusterAgentConnection : IDisposable
{
    private ClusterAgentConnection(GrpcChannel channel) => Channel = channel;

    public GrpcChannel Channel { get; }

    public static async Task<ClusterAgentConnection> OpenAsync(
        LaneCluster cluster, string service = SidecarsInstall.ClusterAgent, string? address = null, int port = SidecarsNames.ClusterAgentPort)
    {
        address ??= (await cluster.Client.CoreV1.ReadNamespacedServiceAsync(service, SidecarsInstall.Namespace)).Spec.ClusterIP;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(await SidecarsInstall.ClusterAgentCaAsync(cluster));
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(address), port), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    Sidecars.AgentLifecycle.PrivateRootTrust.IsTrusted(certificate as X509Certificate2, errors, roots),
            },
        };
        var channel = GrpcChannel.ForAddress(
            $"https://{service}.{SidecarsInstall.Namespace}.svc:{port}", new GrpcChannelOptions { HttpHandler = handler });
        return new ClusterAgentConnection(channel);
    }

    public void Dispose() => Channel.Dispose();
}
