using k8s;
using k8s.Models;
using Sidecars.LocalCluster;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>
/// sidecarsctl as vkube is used: settings written once with <c>config set</c>, then commands with no connection
/// flags (claim, the cluster driver, kubectl with the tool's context, stop-cluster-agent).
/// </summary>
[Collection(IdentityCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class CliSettingsEndToEndTests(ControlPlaneFixture fixture) : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task After_config_set_commands_need_no_flags_and_the_driver_prints_its_timing_table()
    {
        var clustersNamespace = await fixture.NewNamespaceAsync("drive");
        await using var scenario = await IdentityScenario.StartAsync(fixture, null,
            new Dictionary<string, string?> { ["Sidecars:Clusters:Namespace"] = clustersNamespace });
        var settings = _directory.File("sidecarsctl.json");
        foreach (var (key, value) in scenario.AdminSettings())
        {
            await CtlAsync(settings, "config", "set", key, value);
        }

        await CtlAsync(settings, "config", "set", "kubeconfig", fixture.ControlPlane.KubeconfigPath);
        await CtlAsync(settings, "config", "set", "namespace", scenario.Namespace);
        await CtlAsync(settings, "config", "set", "token", "not-shown-anywhere");
        Assert.Equal(scenario.AdminSettings()["agent"], (await CtlAsync(settings, "config", "get", "agent")).Trim());
        var all = await CtlAsync(settings, "config", "get");
        Assert.DoesNotContain("not-shown-anywhere", all, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(settings));
        }

        await CtlAsync(settings, "config", "set", "token", "");

        // The cluster agent, with no connection flags.
        Assert.Contains("claimed as root", await CtlAsync(settings, "claim", "--blessing", "root"), StringComparison.Ordinal);

        // The driver: create, wait, delete, wait, with progress and the timing table.
        var drive = await CtlAsync(settings, "cluster", "drive", "--replicas", "3", "--name", "drive", "--image", "example.local/app:1");
        Assert.Contains("CreateInProgress: ", drive, StringComparison.Ordinal);
        Assert.Contains("created cluster drive: 3/3 available", drive, StringComparison.Ordinal);
        Assert.Contains("deleted cluster drive", drive, StringComparison.Ordinal);
        Assert.Matches(@"\| cluster Available\s+\|\s+[0-9]+\.[0-9]{2} \|", drive);
        Assert.Matches(@"\| delete \(request to gone\)\s+\|\s+[0-9]+\.[0-9]{2} \|", drive);
        Assert.Empty((await fixture.Client.AppsV1.ListNamespacedDeploymentAsync(clustersNamespace)).Items);

        // kubectl with the settings' kubeconfig and namespace.
        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "probe" } }, scenario.Namespace);
        Assert.Equal("configmap/probe", (await CtlAsync(settings, "kubectl", "get", "configmap", "probe", "-o", "name")).Trim());

        // stop-cluster-agent: the agent's objects go; its state stays unless asked.
        var agentNamespace = await fixture.NewNamespaceAsync("agent");
        await InstallAgentObjectsAsync(agentNamespace);
        var kept = await CtlAsync(settings, "stop-cluster-agent", "-n", agentNamespace);
        Assert.Contains("kept its state: 1 Secret(s)", kept, StringComparison.Ordinal);
        await Eventually.UntilAsync(async () => (await fixture.Client.AppsV1.ListNamespacedDeploymentAsync(agentNamespace)).Items.Count == 0,
            "the cluster agent's Deployment to be deleted", TimeSpan.FromSeconds(60));
        await KubernetesWaits.UntilGoneAsync(() => fixture.Client.CoreV1.ReadNamespacedServiceAsync("sidecars-cluster-agent", agentNamespace));
        Assert.NotNull(await fixture.Client.CoreV1.ReadNamespacedSecretAsync("sidecars-identity-root", agentNamespace));
        Assert.Contains("deleted its state: 1 Secret(s)", await CtlAsync(settings, "stop-cluster-agent", "-n", agentNamespace, "--delete-state"), StringComparison.Ordinal);
        await KubernetesWaits.UntilGoneAsync(() => fixture.Client.CoreV1.ReadNamespacedSecretAsync("sidecars-identity-root", agentNamespace));
        Assert.NotNull(await fixture.Client.CoreV1.ReadNamespacedSecretAsync("unrelated", agentNamespace));
    }

    private async Task InstallAgentObjectsAsync(string ns)
    {
        var labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "sidecars-cluster-agent" };
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "sidecars-cluster-agent" },
            Spec = new V1DeploymentSpec
            {
                Replicas = 1,
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "cluster-agent", Image = "example.local/cluster-agent:1" }] },
                },
            },
        }, ns);
        await fixture.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "sidecars-cluster-agent" },
            Spec = new V1ServiceSpec { Selector = labels, Ports = [new V1ServicePort { Name = "grpc", Port = 8443 }] },
        }, ns);
        await fixture.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "sidecars-identity-root", Labels = new Dictionary<string, string> { ["sidecars.io/identity"] = "root" } },
            StringData = new Dictionary<string, string> { ["root"] = "state" },
        }, ns);
        await fixture.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "unrelated" },
            StringData = new Dictionary<string, string> { ["other"] = "kept" },
        }, ns);
    }

    private async Task<string> CtlAsync(string settings, params string[] args)
    {
        var bin = Environment.GetEnvironmentVariable(LocalControlPlaneOptions.BinDirectoryVariable)
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sidecars", "k8s-1.20.2", "bin");
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var (exit, output) = await BuiltHosts.RunAsync(BuiltHosts.Cli, new Dictionary<string, string>
        {
            ["SIDECARSCTL_CONFIG"] = settings,
            ["SIDECARS_KUBECTL"] = Path.Combine(bin, "kubectl"),
            // Nothing from the environment: the settings file alone says where the cluster is.
            ["KUBECONFIG"] = _directory.File("no-such-kubeconfig"),
        }, args, limit.Token);
        Assert.True(exit == 0, $"sidecarsctl {string.Join(' ', args)} exited {exit}:\n{output}");
        return output;
    }
}
