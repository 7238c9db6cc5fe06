using System.Net;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Mutation;
using Sidecars.Testing;
using Sidecars.Testing.Tokens;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>
/// The real agent run by the simulated kubelet for injected sidecars (image <c>LOCALREGISTRY/sidecars/agent:test</c>):
/// Jobs complete because the legacy-mode sidecars exit once the app container finished, and the pod-agent of a
/// copy-token pod keeps the token the app wrote into the shared token volume for the token reader alone.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class JobCompletionEndToEndTests(ControlPlaneFixture fixture) : IAsyncLifetime
{
    private const string AgentImage = "LOCALREGISTRY/sidecars/agent:test";
    private readonly TestCertificates _certificates = new();
    private ClusterWebhook _webhook = null!;
    private string _ns = null!;

    public async Task InitializeAsync()
    {
        _webhook = await ClusterWebhook.StartAsync(fixture, _certificates, extra: new Dictionary<string, string?> { ["Sidecars:Injection:AgentImage"] = AgentImage });
        _ns = await fixture.NewNamespaceAsync("jobs", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        _certificates.Dispose();
    }

    [Fact]
    public async Task Job_with_injected_pod_agent_and_lightpeer_completes_because_both_sidecars_exit()
    {
        Assert.True(fixture.AgentPath is not null, "the built agent (agent/bin/**/sidecars-agent) is needed: build agent/ or set SIDECARS_AGENT_PATH");
        await fixture.ControlPlane.KubectlAsync(["apply", "-n", _ns, "-f", "-"], user: "alice", stdin: PodReaderRbac + "\n---\n" + BatchJob);

        var job = await fixture.Client.WaitForJobAsync(_ns, "batch", j => j.IsComplete(), "Job batch Complete", TimeSpan.FromSeconds(120));

        Assert.Equal(1, job.Status.Succeeded);
        var pod = Assert.Single((await fixture.Client.CoreV1.ListNamespacedPodAsync(_ns, labelSelector: "job-name=batch")).Items);
        Assert.Equal("Succeeded", pod.Status.Phase);
        var agent = pod.Spec.Containers.Single(c => c.Name == SidecarsNames.PodAgentContainer);
        Assert.Equal(["pod-agent", "--tokens-only", "--token-reader-ca", SidecarsNames.TrustBundleFile, "--health-port", "9090", "--token-dir", SidecarsNames.TokenDirectory, "--exit-when-apps-done"], agent.Args);
        Assert.Contains(pod.Spec.Containers.Single(c => c.Name == SidecarsNames.LightpeerContainer).Args, a => a == "--exit-when-apps-done");
        foreach (var sidecar in new[] { SidecarsNames.PodAgentContainer, SidecarsNames.LightpeerContainer, "work" })
        {
            var status = pod.Status.ContainerStatuses.Single(s => s.Name == sidecar);
            Assert.True(status.State.Terminated?.ExitCode == 0, $"{sidecar}: {KubernetesWaits.Describe(pod)}\n{AgentLog(pod, sidecar)}");
        }
    }

    [Fact]
    public async Task Pod_agent_keeps_the_token_the_app_wrote_from_callers_without_the_readers_certificate()
    {
        Assert.True(fixture.AgentPath is not null, "the built agent (agent/bin/**/sidecars-agent) is needed: build agent/ or set SIDECARS_AGENT_PATH");
        await fixture.ControlPlane.KubectlAsync(["apply", "-n", _ns, "-f", "-"], user: "alice", stdin: NotebookPod);
        var pod = (await fixture.Client.WaitForPodAsync(_ns, "notebook", p => p?.IsReady() == true, "pod notebook Ready", TimeSpan.FromSeconds(90)))!;

        var app = pod.Spec.Containers.Single(c => c.Name == "notebook");
        Assert.Contains(app.VolumeMounts, m => m.Name == SidecarsNames.TokenVolume && m.MountPath == SidecarsNames.TokenDirectory);
        Assert.Contains(app.Env, e => e.Name == SidecarsNames.TokenDirectoryEnv && e.Value == SidecarsNames.TokenDirectory);

        // What the app does: write <token directory>/token (here straight into the volume's local directory).
        var volume = Path.Combine(fixture.ControlPlane.Kubelet.PodDirectory(pod), "volumes", SidecarsNames.TokenVolume);
        await File.WriteAllTextAsync(Path.Combine(volume, "token"), "jupyter-token-42");

        // The token port answers over TLS, and only to the token reader (the cluster agent's client certificate).
        using var anonymous = TokenReaderPki.Client(null);
        using (var refused = await anonymous.GetAsync(new Uri($"https://{pod.Status.PodIP}:{SidecarsNames.PodAgentTokenPort}/token/token")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.DoesNotContain("jupyter-token-42", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The plain health port keeps probes and metrics and serves no token.
        using var plain = new HttpClient { BaseAddress = new Uri($"http://{pod.Status.PodIP}:{SidecarsNames.PodAgentHealthPort}"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("ready", await plain.GetStringAsync("/readyz"));
        Assert.Contains("sidecars_podagent_token_requests_total", await plain.GetStringAsync("/metrics"), StringComparison.Ordinal);
        using (var onPlain = await plain.GetAsync("/token/token"))
        {
            Assert.Equal(HttpStatusCode.NotFound, onPlain.StatusCode);
        }

        Assert.DoesNotContain("jupyter-token-42", AgentLog(pod, SidecarsNames.PodAgentContainer), StringComparison.Ordinal);
    }

    private string AgentLog(V1Pod pod, string container)
    {
        var path = fixture.ControlPlane.Kubelet.ContainerLogPath(pod, container);
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    /// <summary>What the docs ask of a namespace whose Jobs use legacy-mode sidecars: its pods may read themselves.</summary>
    private const string PodReaderRbac = """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: sidecars-pod-reader
        rules:
          - apiGroups: [""]
            resources: ["pods"]
            verbs: ["get", "list", "watch"]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: sidecars-pod-reader
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: Role
          name: sidecars-pod-reader
        subjects:
          - kind: ServiceAccount
            name: default
        """;

    private const string BatchJob = """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: batch
        spec:
          backoffLimit: 0
          template:
            metadata:
              labels:
                klight.networkId: net-jobs
              annotations:
                sciencedata.dk/copy-token: token
            spec:
              restartPolicy: Never
              containers:
                - name: work
                  image: busybox:1.36
                  args: ["--once"]
        """;

    private const string NotebookPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: notebook
          annotations:
            sciencedata.dk/copy-token: token
        spec:
          containers:
            - name: notebook
              image: jupyter/minimal:1
        """;
}
