using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Mutation;
using Sidecars.Testing;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>kubectl apply against the real apiserver, with the webhook registered, and what Kubernetes stored.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class InjectionEndToEndTests(ControlPlaneFixture fixture) : IAsyncLifetime
{
    private readonly TestCertificates _certificates = new();
    private ClusterWebhook _webhook = null!;
    private string _ns = null!;

    public async Task InitializeAsync()
    {
        _webhook = await ClusterWebhook.StartAsync(fixture, _certificates);
        _ns = await fixture.NewNamespaceAsync("team", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
        foreach (var app in new[] { "fortuned", "jupyter" })
        {
            await fixture.Client.CoreV1.CreateNamespacedSecretAsync(
                new V1Secret { Metadata = new V1ObjectMeta { Name = SidecarsNames.DefaultSecretName(app) }, StringData = new Dictionary<string, string> { ["secret"] = "s3cret-" + app } },
                _ns);
        }
    }

    /// <summary>The owner's claim, bound to a volume up front as an administrator would provision it.</summary>
    private async Task ProvisionClaimAsync(string claim)
    {
        var volume = "pv-" + _ns;
        var quantity = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity("1Gi") };
        await fixture.Client.CoreV1.CreatePersistentVolumeAsync(new V1PersistentVolume
        {
            Metadata = new V1ObjectMeta { Name = volume },
            Spec = new V1PersistentVolumeSpec
            {
                Capacity = quantity,
                AccessModes = ["ReadWriteMany"],
                HostPath = new V1HostPathVolumeSource { Path = "/tmp/" + volume },
                ClaimRef = new V1ObjectReference { NamespaceProperty = _ns, Name = claim },
                StorageClassName = string.Empty,
            },
        });
        await fixture.Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(
            new V1PersistentVolumeClaim
            {
                Metadata = new V1ObjectMeta { Name = claim },
                Spec = new V1PersistentVolumeClaimSpec
                {
                    AccessModes = ["ReadWriteMany"],
                    Resources = new V1VolumeResourceRequirements { Requests = quantity },
                    StorageClassName = string.Empty,
                    VolumeName = volume,
                },
            },
            _ns);
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        _certificates.Dispose();
    }

    [Fact]
    public async Task Deployment_and_bare_pod_applied_by_alice_are_injected_rewritten_and_owned_by_her()
    {
        await ProvisionClaimAsync("sciencedata-alice");
        await fixture.ControlPlane.KubectlAsync(["apply", "-n", _ns, "-f", "-"], user: "alice", stdin: Manifests.DeploymentAndPod);

        var deployment = await fixture.Client.WaitForDeploymentAsync(_ns, "fortuned", d => d.IsAvailable(), "Deployment fortuned Available", TimeSpan.FromSeconds(90));
        Assert.Equal(2, deployment.Status.AvailableReplicas);
        Assert.Equal("alice", deployment.Spec.Template.Metadata.Annotations[SidecarsAnnotations.CreatedBy]);

        var pods = (await fixture.Client.CoreV1.ListNamespacedPodAsync(_ns)).Items;
        var fortuned = pods.Where(p => p.Metadata.Labels?.TryGetValue("app", out var app) == true && app == "fortuned").ToList();
        Assert.Equal(2, fortuned.Count);
        foreach (var pod in fortuned)
        {
            AssertInjected(pod, expectLightpeer: true);
            var app = pod.Spec.Containers.Single(c => c.Name == "app");
            Assert.Equal("registry.test/team/fortune/server:1.2", app.Image);
            Assert.Equal("prod", app.Env.Single(e => e.Name == "MODE").Value);
            Assert.Equal("sciencedata-alice", pod.Spec.Volumes.Single(v => v.Name == "sciencedata").PersistentVolumeClaim.ClaimName);
            Assert.Null(pod.Spec.Volumes.Single(v => v.Name == "sciencedata").EmptyDir);
            Assert.True(pod.IsReady(), KubernetesWaits.Describe(pod));
            Assert.StartsWith("127.", pod.Status.PodIP, StringComparison.Ordinal);
        }

        var jupyter = await fixture.Client.WaitForPodAsync(_ns, "jupyter", p => p?.IsReady() == true, "pod jupyter Ready");
        AssertInjected(jupyter!, expectLightpeer: false);
        Assert.Equal("registry.test/team/jupyter/minimal@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", jupyter!.Spec.Containers.Single(c => c.Name == "jupyter").Image);
    }

    [Fact]
    public async Task A_forged_owner_label_is_overwritten_with_the_real_user()
    {
        await fixture.ControlPlane.KubectlAsync(["apply", "-n", _ns, "-f", "-"], user: "bob", stdin: Manifests.ForgedOwnerPod);

        var pod = await fixture.Client.CoreV1.ReadNamespacedPodAsync("forged", _ns);

        Assert.Equal("bob", pod.Metadata.Labels[SidecarsLabels.Owner]);
        Assert.Equal("bob", pod.Metadata.Annotations[SidecarsAnnotations.Owner]);
    }

    [Fact]
    public async Task Opted_out_pod_and_kube_system_pod_are_stored_as_applied()
    {
        await fixture.ControlPlane.KubectlAsync(["apply", "-n", _ns, "-f", "-"], user: "alice", stdin: Manifests.OptedOutPod);
        var systemPodName = "sys-" + _ns;
        await fixture.ControlPlane.KubectlAsync(["apply", "-n", "kube-system", "-f", "-"], user: "admin", stdin: Manifests.SystemPod(systemPodName));
        try
        {
            var optedOut = await fixture.Client.CoreV1.ReadNamespacedPodAsync("opted-out", _ns);
            var system = await fixture.Client.CoreV1.ReadNamespacedPodAsync(systemPodName, "kube-system");

            foreach (var pod in new[] { optedOut, system })
            {
                Assert.Single(pod.Spec.Containers);
                Assert.StartsWith("LOCALREGISTRY/", pod.Spec.Containers[0].Image, StringComparison.Ordinal);
                Assert.Null(pod.Spec.ImagePullSecrets);
                Assert.False(pod.Metadata.Labels?.ContainsKey(SidecarsLabels.Owner) ?? false);
            }
        }
        finally
        {
            await fixture.Client.CoreV1.DeleteNamespacedPodAsync(systemPodName, "kube-system", gracePeriodSeconds: 0);
        }
    }

    [Fact]
    public async Task Server_side_dry_run_shows_the_injection_and_stores_nothing()
    {
        var output = await fixture.ControlPlane.KubectlAsync(["apply", "--dry-run=server", "-o", "json", "-n", _ns, "-f", "-"], user: "alice", stdin: Manifests.DryRunPod);

        var pod = KubernetesJson.Deserialize<V1Pod>(output);
        AssertInjected(pod, expectLightpeer: false);
        var stored = await fixture.Client.CoreV1.ListNamespacedPodAsync(_ns, fieldSelector: "metadata.name=dry");
        Assert.Empty(stored.Items);
    }

    [Fact]
    public async Task An_injected_pod_costs_the_apiserver_a_single_webhook_call()
    {
        var hook = "pods." + _webhook.ConfigurationName + ".sidecars.io";
        var before = await fixture.ControlPlane.ReadWebhookAdmissionMetricsAsync(hook);

        // Its app containers carry the service account token: the ServiceAccount plugin, run again after our change,
        // would mount it into the sidecars and make the apiserver call the webhook a second time (IfNeeded).
        await fixture.ControlPlane.KubectlAsync(["apply", "-n", _ns, "-f", "-"], user: "alice", stdin: Manifests.DryRunPod.Replace("name: dry", "name: single-call", StringComparison.Ordinal));
        var pod = await fixture.Client.CoreV1.ReadNamespacedPodAsync("single-call", _ns);
        var after = await fixture.ControlPlane.ReadWebhookAdmissionMetricsAsync(hook);

        AssertInjected(pod, expectLightpeer: false);
        var token = pod.Spec.Containers.Single(c => c.Name == "c").VolumeMounts.Single(m => m.MountPath == SidecarsNames.ServiceAccountDirectory);
        var agentToken = pod.Spec.Containers.Single(c => c.Name == SidecarsNames.PodAgentContainer).VolumeMounts.Single(m => m.MountPath == SidecarsNames.ServiceAccountDirectory);
        Assert.Equal(token.Name, agentToken.Name);
        Assert.True(agentToken.ReadOnlyProperty);
        Assert.Equal(1, after.Count - before.Count);
    }

    [Fact]
    public async Task Admission_warnings_reach_kubectl()
    {
        var (exit, stdout, stderr) = await Kubectl.RunAsync(fixture.ControlPlane, "alice", Manifests.BadSettingsPod, "apply", "-n", _ns, "-f", "-", "-o", "name");

        Assert.Equal(0, exit);
        Assert.Contains("pod/bad-settings", stdout, StringComparison.Ordinal);
        // The bad settings annotation is reported back to the person applying, and the rest is still applied.
        Assert.Contains("Warning:", stderr, StringComparison.Ordinal);
        Assert.Contains("settings", stderr, StringComparison.OrdinalIgnoreCase);
        var pod = await fixture.Client.CoreV1.ReadNamespacedPodAsync("bad-settings", _ns);
        Assert.Equal("alice", pod.Metadata.Labels[SidecarsLabels.Owner]);
        Assert.Contains(pod.Spec.Containers, c => c.Name == SidecarsNames.PodAgentContainer);
    }

    [Fact]
    public async Task A_pod_that_brings_its_own_lightpeer_is_not_given_a_second_one_and_kubectl_says_why()
    {
        const string pod = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: own-peer
              labels:
                klight.networkId: net-own
            spec:
              containers:
              - name: app
                image: busybox:1.36
              - name: peer
                image: busybox:1.36
                ports:
                - name: klight-port
                  containerPort: 9081
            """;

        var (exit, stdout, stderr) = await Kubectl.RunAsync(fixture.ControlPlane, "alice", pod, "apply", "-n", _ns, "-f", "-", "-o", "name");

        Assert.Equal(0, exit);
        Assert.Contains("pod/own-peer", stdout, StringComparison.Ordinal);
        Assert.Contains("Warning: lightpeer not injected: container peer exposes port klight-port", stderr, StringComparison.Ordinal);
        var stored = await fixture.Client.CoreV1.ReadNamespacedPodAsync("own-peer", _ns);
        Assert.DoesNotContain(stored.Spec.Containers, c => c.Name == SidecarsNames.LightpeerContainer);
        Assert.Single(stored.Spec.Containers.SelectMany(c => c.Ports ?? []), p => p.Name == SidecarsNames.LightpeerPortName);
        Assert.Equal("alice", stored.Metadata.Labels[SidecarsLabels.Owner]);
    }

    internal static void AssertInjected(V1Pod pod, bool expectLightpeer)
    {
        var describe = KubernetesJson.Serialize(pod.Spec);
        Assert.Single(pod.Spec.Containers, c => c.Name == SidecarsNames.PodAgentContainer);
        Assert.Equal(expectLightpeer ? 1 : 0, pod.Spec.Containers.Count(c => c.Name == SidecarsNames.LightpeerContainer));
        Assert.Single(pod.Spec.Volumes, v => v.Name == SidecarsNames.SocketVolume);
        var secretVolume = pod.Spec.Volumes.Single(v => v.Name == SidecarsNames.SecretVolume);
        Assert.NotNull(secretVolume.Secret);
        var agent = pod.Spec.Containers.Single(c => c.Name == SidecarsNames.PodAgentContainer);
        Assert.Equal("registry.test/team/sidecars/test-sidecar:1", agent.Image);
        Assert.Contains(agent.VolumeMounts, m => m.Name == SidecarsNames.SecretVolume && m.ReadOnlyProperty == true);
        Assert.NotNull(agent.Resources?.Limits);
        Assert.NotNull(agent.ReadinessProbe);
        Assert.False(agent.SecurityContext?.AllowPrivilegeEscalation ?? true);
        foreach (var app in pod.Spec.Containers.Where(c => !c.Name.StartsWith("sidecars-", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(app.VolumeMounts ?? [], m => m.Name == SidecarsNames.SecretVolume);
            Assert.Single(app.Env, e => e.Name == SidecarsNames.SocketEnv);
            Assert.Single(app.VolumeMounts ?? [], m => m.Name == SidecarsNames.SocketVolume);
        }

        Assert.Single(pod.Spec.ImagePullSecrets, s => s.Name == "regcred");
        Assert.Equal("true", pod.Metadata.Labels[SidecarsLabels.PodAgent]);
        Assert.Equal("alice", pod.Metadata.Labels[SidecarsLabels.Owner]);
        Assert.Equal("alice", pod.Metadata.Annotations[SidecarsAnnotations.Owner]);
        Assert.NotNull(JsonNode.Parse(pod.Metadata.Annotations[SidecarsAnnotations.Injected]));
        Assert.True(describe.Length > 0);
    }
}
