using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Identity.Blessings;
using Sidecars.Mutation;
using Sidecars.Testing;
using Sidecars.Testing.Http;
using Sidecars.Testing.Identity;
using PodAgentClient = Sidecars.Contracts.V1.PodAgent.PodAgentClient;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>
/// claim and <c>app start</c> through sidecarsctl, the webhook injecting the pod-agent, the simulated kubelet running the
/// built agent as each replica's process, and app-side clients on each replica's socket.
/// </summary>
[Collection(IdentityCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class IdentityEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Each_replica_gets_its_own_blessing_signs_over_its_socket_and_does_mutual_tls_with_another()
    {
        await using var scenario = await IdentityScenario.StartAsync(fixture, TimeSpan.FromHours(1));
        Assert.Contains("claimed as root", await scenario.CtlAsync("claim", "--blessing", "root"), StringComparison.Ordinal);

        Assert.Contains("is available", await scenario.AppStartAsync(replicas: 3), StringComparison.Ordinal);
        var deployment = await scenario.Client.AppsV1.ReadNamespacedDeploymentAsync(IdentityScenario.Deployment, scenario.Namespace);
        Assert.True(deployment.IsAvailable(), "the Deployment is not Available after app start --wait");
        var pods = await scenario.ReadyPodsAsync(3);

        var names = new HashSet<string>(StringComparer.Ordinal);
        X509Certificate2? root = null;
        foreach (var pod in pods)
        {
            Assert.Equal("true", pod.Metadata.Labels[SidecarsLabels.PodAgent]);
            using var channel = scenario.SocketChannel(pod);
            var client = new PodAgentClient(channel);
            var blessing = await client.GetBlessingsAsync(new GetBlessingsRequest());
            Assert.Equal($"root:my-service:{pod.Metadata.Name}", blessing.Name);

            var roots = await client.GetTrustRootsAsync(new GetTrustRootsRequest());
            root ??= X509CertificateLoader.LoadCertificate(roots.Certificates.Single().ToByteArray());
            var verified = new BlessingVerifier([root]).Verify([.. blessing.Chain.Select(c => c.ToByteArray())], DateTimeOffset.UtcNow);
            Assert.True(verified.IsValid, verified.Error);
            Assert.Equal(blessing.Name, verified.Name);

            var data = RandomNumberGenerator.GetBytes(256);
            var signed = await client.SignAsync(new SignRequest { Data = ByteString.CopyFrom(data) });
            Assert.Equal(blessing.Name, signed.Blessing);
            using var leaf = X509CertificateLoader.LoadCertificate(blessing.Chain[0].ToByteArray());
            using var leafKey = leaf.GetECDsaPublicKey()!;
            Assert.True(leafKey.VerifyData(data, signed.Signature.ToByteArray(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
            data[0] ^= 1;
            Assert.False(leafKey.VerifyData(data, signed.Signature.ToByteArray(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
            names.Add(blessing.Name);
        }

        Assert.Equal(3, names.Count);

        // Two replicas' issued certificates (exported by their agents on request) complete a mutual TLS handshake...
        foreach (var pod in pods.Take(2))
        {
            await Eventually.UntilAsync(() => File.Exists(Path.Combine(scenario.SocketVolume(pod), "tls", "tls.crt")), $"the TLS export of {pod.Metadata.Name}");
        }

        using var server = scenario.ExportedCertificate(pods[0]);
        using var client0 = scenario.ExportedCertificate(pods[1]);
        var (serverSaw, clientSaw) = await MutualTls.HandshakeAsync(server, client0, root!);
        Assert.Equal($"root:my-service:{pods[1].Metadata.Name}", serverSaw);
        Assert.Equal($"root:my-service:{pods[0].Metadata.Name}", clientSaw);

        // ...and a certificate with the same name from a forged root of the same name does not.
        using var forger = BlessingAuthority.CreateRoot("root", DateTimeOffset.UtcNow.AddMinutes(-1), TimeSpan.FromDays(1));
        using var forgedKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = forger.Issue($"root:my-service:{pods[1].Metadata.Name}", forgedKey, DateTimeOffset.UtcNow.AddMinutes(-1), TimeSpan.FromHours(1));
        using var forgedLeaf = forged.LoadLeaf();
        using var forgedWithKey = forgedLeaf.CopyWithPrivateKey(forgedKey);
        using var forgedCertificate = X509CertificateLoader.LoadPkcs12(forgedWithKey.Export(X509ContentType.Pkcs12), null);
        await Assert.ThrowsAnyAsync<Exception>(() => MutualTls.HandshakeAsync(server, forgedCertificate, root!));
        await Assert.ThrowsAnyAsync<Exception>(() => MutualTls.HandshakeAsync(forgedCertificate, client0, root!));
    }

    [Fact]
    public async Task App_start_in_a_namespace_that_is_not_labelled_opts_the_pods_in_and_they_get_their_pod_agent()
    {
        await using var scenario = await IdentityScenario.StartAsync(fixture, TimeSpan.FromHours(1), labelNamespace: false);
        await scenario.CtlAsync("claim", "--blessing", "root");
        var ns = await scenario.Client.CoreV1.ReadNamespaceAsync(scenario.Namespace);
        Assert.False(ns.Metadata.Labels?.ContainsKey(SidecarsLabels.NamespaceInjection) ?? false);

        Assert.Contains($"every pod with its {SidecarsNames.PodAgentContainer}", await scenario.AppStartAsync(replicas: 2), StringComparison.Ordinal);
        var deployment = await scenario.Client.AppsV1.ReadNamespacedDeploymentAsync(IdentityScenario.Deployment, scenario.Namespace);
        Assert.Equal("true", deployment.Spec.Template.Metadata.Annotations[SidecarsAnnotations.Inject]);
        foreach (var pod in await scenario.ReadyPodsAsync(2))
        {
            Assert.Equal("true", pod.Metadata.Labels[SidecarsLabels.PodAgent]);
            Assert.Contains(pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []), c => c.Name == SidecarsNames.PodAgentContainer);
            using var channel = scenario.SocketChannel(pod);
            var blessing = await new PodAgentClient(channel).GetBlessingsAsync(new GetBlessingsRequest());
            Assert.Equal($"root:my-service:{pod.Metadata.Name}", blessing.Name);
        }
    }

    [Fact]
    public async Task App_start_refuses_a_template_that_opts_out_while_asking_for_a_blessing()
    {
        await using var scenario = await IdentityScenario.StartAsync(fixture, TimeSpan.FromHours(1), labelNamespace: false);
        await scenario.CtlAsync("claim", "--blessing", "root");

        var (exit, output) = await scenario.TryCtlAsync(await scenario.AppStartArgumentsAsync(replicas: 1, inject: "false"));

        Assert.Equal(1, exit);
        Assert.Contains("opts out of injection", output, StringComparison.Ordinal);
        Assert.Contains($"annotation {SidecarsAnnotations.Blessing}", output, StringComparison.Ordinal);
        var deployments = await scenario.Client.AppsV1.ListNamespacedDeploymentAsync(scenario.Namespace);
        Assert.Empty(deployments.Items);
        var secrets = await scenario.Client.CoreV1.ListNamespacedSecretAsync(scenario.Namespace);
        Assert.DoesNotContain(secrets.Items, s => s.Metadata.Name == SidecarsNames.DefaultSecretName("my-service"));
    }

    [Fact]
    public async Task Forgetting_the_secret_stops_renewals_and_the_agents_exit_with_the_revoked_code()
    {
        await using var scenario = await IdentityScenario.StartAsync(fixture, TimeSpan.FromSeconds(12));
        await scenario.CtlAsync("claim", "--blessing", "root");
        await scenario.AppStartAsync(replicas: 3);
        var pods = await scenario.ReadyPodsAsync(3);

        // A renewal happens while the secret is known.
        using (var channel = scenario.SocketChannel(pods[0]))
        {
            using var watch = new PodAgentClient(channel).WatchBlessings(new WatchBlessingsRequest());
            Assert.True(await watch.ResponseStream.MoveNext(), "no current blessing on the watch");
            var first = watch.ResponseStream.Current.NotAfter;
            Assert.True(await watch.ResponseStream.MoveNext(), "no renewal on the watch");
            Assert.True(watch.ResponseStream.Current.NotAfter > first, "the renewal did not extend the blessing");
        }

        var forgotten = await scenario.AdminClient().ForgetSecretAsync(new ForgetSecretRequest { Secret = await scenario.ApplicationSecretAsync() });
        Assert.Equal("root:my-service", forgotten.Blessing);

        // At their next renewal every agent is refused, exits 4, and its pod stops being Ready.
        await scenario.Client.WaitForPodsAsync(
            scenario.Namespace, "app=" + IdentityScenario.Deployment,
            current => current.Count(p => AgentExitCode(p) == 4 && !p.IsReady()) >= 3,
            "every replica's agent to exit 4 (secret revoked) and its pod to become not Ready", TimeSpan.FromSeconds(120));
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await scenario.AdminClient().ForgetSecretAsync(
            new ForgetSecretRequest { Secret = await scenario.ApplicationSecretAsync() }));
        Assert.NotEqual(StatusCode.OK, denied.StatusCode);
    }

    [Fact]
    public async Task A_restarted_cluster_agent_keeps_the_secret_and_a_pod_is_ready_only_once_its_agent_is_blessed()
    {
        await using var scenario = await IdentityScenario.StartAsync(fixture, TimeSpan.FromSeconds(30));
        await scenario.CtlAsync("claim", "--blessing", "root");
        await scenario.AppStartAsync(replicas: 3);
        var pods = await scenario.ReadyPodsAsync(3);
        var secretBefore = await scenario.ApplicationSecretAsync();

        // Cluster agent down: a replacement replica runs its agent but cannot be blessed, so it is not Ready.
        await scenario.Agent.StopAsync();
        var victim = pods[0];
        await scenario.Client.CoreV1.DeleteNamespacedPodAsync(victim.Metadata.Name, scenario.Namespace, gracePeriodSeconds: 0);
        var waiting = (await scenario.Client.WaitForPodsAsync(
            scenario.Namespace, "app=" + IdentityScenario.Deployment,
            current => current.Any(p => IsNew(p, pods) && AgentRunning(p)),
            "a replacement replica whose agent is running", TimeSpan.FromSeconds(120))).First(p => IsNew(p, pods) && AgentRunning(p));
        using (var http = new HttpClient())
        {
            var readyz = new Uri($"http://{waiting.Status.PodIP}:{SidecarsNames.PodAgentHealthPort}/readyz");
            await Eventually.UntilAsync(async () => await HttpStatus.TryGetAsync(http, readyz) is 503, $"{readyz} to answer 503 (listening, no blessing)");
        }

        var current = await scenario.Client.CoreV1.ReadNamespacedPodAsync(waiting.Metadata.Name, scenario.Namespace);
        Assert.False(current.IsReady(), $"{waiting.Metadata.Name} is Ready although its agent holds no blessing");

        // Back on the same store and port: the replacement is blessed with the secret the store kept.
        await scenario.Agent.StartAsync();
        var after = await scenario.ReadyPodsAsync(3);
        Assert.Contains(after, p => p.Metadata.Name == waiting.Metadata.Name);
        Assert.Equal(secretBefore, await scenario.ApplicationSecretAsync());
        foreach (var pod in after)
        {
            using var channel = scenario.SocketChannel(pod);
            var blessing = await new PodAgentClient(channel).GetBlessingsAsync(new GetBlessingsRequest());
            Assert.Equal($"root:my-service:{pod.Metadata.Name}", blessing.Name);
        }

        // A replica deleted after the restart also gets a fresh blessing from the same secret.
        var second = after.First(p => p.Metadata.Name != waiting.Metadata.Name);
        await scenario.Client.CoreV1.DeleteNamespacedPodAsync(second.Metadata.Name, scenario.Namespace, gracePeriodSeconds: 0);
        var final = await scenario.ReadyPodsAsync(3, p => p.Metadata.Name != second.Metadata.Name);
        var replacement = final.Single(p => after.All(a => a.Metadata.Name != p.Metadata.Name));
        using (var channel = scenario.SocketChannel(replacement))
        {
            var blessing = await new PodAgentClient(channel).GetBlessingsAsync(new GetBlessingsRequest());
            Assert.Equal($"root:my-service:{replacement.Metadata.Name}", blessing.Name);
        }
    }

    private static bool IsNew(V1Pod pod, IReadOnlyList<V1Pod> old) =>
        pod.Metadata.DeletionTimestamp is null && old.All(o => o.Metadata.Uid != pod.Metadata.Uid);

    private static bool AgentRunning(V1Pod pod) =>
        !string.IsNullOrEmpty(pod.Status?.PodIP)
        && pod.Status.ContainerStatuses?.Any(c => c.Name == SidecarsNames.PodAgentContainer && c.State?.Running is not null) == true;

    private static int? AgentExitCode(V1Pod pod)
    {
        var status = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == SidecarsNames.PodAgentContainer);
        return status?.State?.Terminated?.ExitCode ?? status?.LastState?.Terminated?.ExitCode;
    }
}
