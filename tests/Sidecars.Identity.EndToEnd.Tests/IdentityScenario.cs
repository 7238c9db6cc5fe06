using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Identity.Admin;
using Sidecars.Mutation;
using Sidecars.PodAgent;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>
/// One test's world: an in-process cluster agent (file store, pod tokens reviewed by the control plane), the webhook pointing the pod-agents at
/// it, a namespace that opts in to injection, and sidecarsctl run as a process against both.
/// </summary>
internal sealed class IdentityScenario : IAsyncDisposable
{
    public const string Deployment = "my-service";

    private readonly ControlPlaneFixture _fixture;
    private readonly TempDirectory _directory;
    private readonly TestPki _pki;
    private readonly InProcessWebhook _webhook;
    private readonly List<string> _links = [];

    private IdentityScenario(ControlPlaneFixture fixture, TempDirectory directory, TestPki pki, InProcessClusterAgent agent, InProcessWebhook webhook, string ns)
    {
        _fixture = fixture;
        _directory = directory;
        _pki = pki;
        Agent = agent;
        _webhook = webhook;
        Namespace = ns;
    }

    public InProcessClusterAgent Agent { get; }

    public string Namespace { get; }

    public IKubernetes Client => _fixture.Client;

    /// <param name="blessingLifetime">The cluster agent's blessing lifetime; null keeps its default.</param>
    /// <param name="settings">More cluster agent settings.</param>
    /// <param name="labelNamespace">Label the test namespace sidecars.io/injection=enabled; false leaves the opt-in to each pod.</param>
    /// <param name="tls">
    /// When set, pod-agents reach the cluster agent over HTTPS with its current certificate, and the cluster agent
    /// delivers the CA bundle of its Secret to the opted-in namespaces.
    /// </param>
    public static async Task<IdentityScenario> StartAsync(
        ControlPlaneFixture fixture, TimeSpan? blessingLifetime, IReadOnlyDictionary<string, string?>? settings = null, bool labelNamespace = true,
        ClusterAgentTls? tls = null)
    {
        Assert.True(fixture.AgentPath is not null, "the agent is not built (agent/bin/**/sidecars-agent): the simulated kubelet cannot run it");
        var directory = new TempDirectory();
        var pki = new TestPki(directory.File("pki"));
        await File.WriteAllTextAsync(directory.File("pki/admin.pem"), pki.AdminClient.ExportCertificatePem());
        await File.WriteAllTextAsync(directory.File("pki/admin-key.pem"), AdminCredentials.ExportPrivateKeyPem(pki.AdminClient));
        var agentSettings = new Dictionary<string, string?>
        {
            ["Sidecars:Identity:FailureBurst"] = "1000",
            ["Sidecars:Kubernetes:KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
        };
        if (blessingLifetime is { } lifetime)
        {
            agentSettings["Sidecars:Identity:BlessingLifetime"] = lifetime.ToString("c");
        }

        if (tls is not null)
        {
            agentSettings["Sidecars:Trust:Namespace"] = tls.Namespace;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            agentSettings[key] = value;
        }

        var agent = await InProcessClusterAgent.StartAsync(
            pki, directory.File("store/identity.json"), agentSettings, tls is null ? null : () => tls.Current);
        var webhook = await InProcessWebhook.StartAsync(fixture, tls is null ? agent.PlainAddress : agent.ServingAddress);
        var ns = await fixture.NewNamespaceAsync(
            "identity", labelNamespace ? new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled } : null);
        return new IdentityScenario(fixture, directory, pki, agent, webhook, ns);
    }

    /// <summary>Runs <c>sidecarsctl</c> with the control plane's kubeconfig and the admin credentials; fails on a non-zero exit.</summary>
    public async Task<string> CtlAsync(params string[] args)
    {
        var (exit, output) = await TryCtlAsync(args);
        Assert.True(exit == 0, $"sidecarsctl {string.Join(' ', args)} exited {exit}:\n{output}");
        return output;
    }

    /// <summary>The admin connection as sidecarsctl's settings: agent, cert, key and ca.</summary>
    public IReadOnlyDictionary<string, string> AdminSettings() => new Dictionary<string, string>
    {
        ["agent"] = Agent.AdminAddress,
        ["cert"] = _directory.File("pki/admin.pem"),
        ["key"] = _directory.File("pki/admin-key.pem"),
        ["ca"] = _pki.ServerCaPemPath,
    };

    /// <summary>Runs <c>sidecarsctl</c> as <see cref="CtlAsync"/> does; returns its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> TryCtlAsync(params string[] args)
    {
        var withAdmin = args.Concat(["--agent", Agent.AdminAddress, "--cert", _directory.File("pki/admin.pem"),
            "--key", _directory.File("pki/admin-key.pem"), "--ca", _pki.ServerCaPemPath]);
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        return await BuiltHosts.RunAsync(
            BuiltHosts.Cli, new Dictionary<string, string> { ["KUBECONFIG"] = _fixture.ControlPlane.KubeconfigPath }, withAdmin, limit.Token);
    }

    /// <summary><c>app start -f deployment.yaml --blessing my-service --wait</c> for a Deployment that exports its TLS material.</summary>
    public async Task<string> AppStartAsync(int replicas) => await CtlAsync(await AppStartArgumentsAsync(replicas, inject: null));

    /// <summary>The <c>app start</c> arguments; <paramref name="inject"/> sets the template's sidecars.io/inject annotation.</summary>
    public async Task<string[]> AppStartArgumentsAsync(int replicas, string? inject)
    {
        var manifest = _directory.File("deployment.yaml");
        await File.WriteAllTextAsync(manifest, $$"""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: {{Deployment}}
            spec:
              replicas: {{replicas}}
              selector:
                matchLabels: {app: {{Deployment}}}
              template:
                metadata:
                  labels: {app: {{Deployment}}}
                  annotations:
                    sidecars.io/export-tls: "true"{{(inject is null ? string.Empty : $"\n        sidecars.io/inject: \"{inject}\"")}}
                spec:
                  containers:
                    - name: app
                      image: LOCALREGISTRY/demo/app:1
            """);
        return ["app", "start", "-f", manifest, "--blessing", "my-service", "-n", Namespace, "--wait", "--timeout", "180"];
    }

    public async Task<IReadOnlyList<V1Pod>> ReadyPodsAsync(int count, Func<V1Pod, bool>? also = null) =>
        await Client.WaitForPodsAsync(
            Namespace, "app=" + Deployment,
            pods => pods.Count(p => p.Metadata.DeletionTimestamp is null && p.IsReady() && (also?.Invoke(p) ?? true)) == count
                && pods.All(p => p.Metadata.DeletionTimestamp is null),
            $"{count} ready replicas of {Deployment}", TimeSpan.FromSeconds(180));

    /// <summary>The pod's shared socket volume, as the simulated kubelet materialised it.</summary>
    public string SocketVolume(V1Pod pod) => VolumeFile(pod, SidecarsNames.SocketVolume, "");

    /// <summary>
    /// An app-side client of the pod's agent socket. Pod directories are deeper than a socket address allows, so
    /// the client connects through a short symbolic link to the volume, as an app in the pod would by its short path.
    /// </summary>
    public GrpcChannel SocketChannel(V1Pod pod)
    {
        var link = _directory.File("s" + _links.Count);
        Directory.CreateSymbolicLink(link, SocketVolume(pod));
        _links.Add(link);
        return PodAgentSocket.CreateChannel(Path.Combine(link, "agent.sock"));
    }

    /// <summary>A file of one of the pod's volumes, as the simulated kubelet materialised it (what the pod's processes read).</summary>
    public string VolumeFile(V1Pod pod, string volume, string file)
    {
        var directory = _fixture.ControlPlane.Kubelet.FindPodDirectory(pod.Metadata.NamespaceProperty, pod.Metadata.Name)
            ?? throw new InvalidOperationException($"the kubelet does not run pod {pod.Metadata.Name}");
        return Path.Combine(directory, "volumes", volume, file);
    }

    /// <summary>What a container of the pod has logged so far (the simulated kubelet's log file).</summary>
    public string ContainerLog(V1Pod pod, string container)
    {
        var path = _fixture.ControlPlane.Kubelet.ContainerLogPath(pod, container);
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }

    public X509Certificate2 ExportedCertificate(V1Pod pod)
    {
        var tls = Path.Combine(SocketVolume(pod), "tls");
        using var loaded = X509Certificate2.CreateFromPemFile(Path.Combine(tls, "tls.crt"), Path.Combine(tls, "tls.key"));
        return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }

    public async Task<string> ApplicationSecretAsync()
    {
        var secret = await Client.CoreV1.ReadNamespacedSecretAsync(SidecarsNames.DefaultSecretName("my-service"), Namespace);
        return System.Text.Encoding.UTF8.GetString(secret.Data[SidecarsNames.SecretKey]);
    }

    public Contracts.V1.Identity.IdentityClient AdminClient() =>
        new(AdminCredentials.CreateChannel(Agent.AdminAddress, _pki.AdminClient, _pki.ServerRoots));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Client.AppsV1.DeleteNamespacedDeploymentAsync(Deployment, Namespace, propagationPolicy: "Foreground");
        }
        catch (k8s.Autorest.HttpOperationException)
        {
        }

        await _webhook.DisposeAsync();
        await Agent.DisposeAsync();
        _pki.Dispose();
        _directory.Dispose();
    }
}
