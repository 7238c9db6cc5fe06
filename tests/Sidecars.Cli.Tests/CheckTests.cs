using System.Text;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Webhook.Embedded;
using Sidecars.Certificates.Issuing;
using Sidecars.Webhook.Tls;

namespace Sidecars.Cli.Tests;

/// <summary>
/// <c>sidecarsctl check</c> against the local control plane: before an install, after registering the webhook the way
/// the tests do (by URL) with deploy/'s RBAC applied, and with one thing broken.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class CheckTests(ControlPlaneFixture fixture)
{
    private const string InstallNamespace = "sidecars-system";
    private const string Configuration = "sidecars-webhook";

    [Fact]
    public async Task Check_fails_with_reasons_before_the_install_passes_after_it_and_fails_on_a_caBundle_that_does_not_verify()
    {
        var client = fixture.Client;
        var team = await fixture.NewNamespaceAsync("team");
        await client.CoreV1.CreateNamespacedPodAsync(OptedInPod("bare"), team);

        var (before, beforeOutput) = await CheckAsync();
        Assert.True(before == 1, beforeOutput);
        Assert.True(beforeOutput.Contains($"[FAIL] webhook configuration: MutatingWebhookConfiguration {Configuration} not found", StringComparison.Ordinal), beforeOutput);
        Assert.True(beforeOutput.Contains($"[FAIL] rbac {InstallNamespace}/sidecars-webhook: ", StringComparison.Ordinal), beforeOutput);
        Assert.True(beforeOutput.Contains($"[FAIL] rbac {InstallNamespace}/sidecars-cluster-agent: ", StringComparison.Ordinal), beforeOutput);
        Assert.True(beforeOutput.Contains($"[FAIL] pods: 1 should carry sidecars and do not: {team}/bare", StringComparison.Ordinal), beforeOutput);
        Assert.True(beforeOutput.Contains("(hint: ", StringComparison.Ordinal), beforeOutput);

        await client.CoreV1.DeleteNamespacedPodAsync("bare", team, gracePeriodSeconds: 0);
        await client.WaitForPodsAsync(team, null, pods => pods.Count == 0, "the bare pod to be gone", TimeSpan.FromSeconds(60));
        // The RBAC files name their namespaces (the install namespace, and the user-pods and clusters namespaces).
        foreach (var name in new[] { InstallNamespace, "sidecars-user-pods", "sidecars-clusters" })
        {
            await fixture.ControlPlane.CreateNamespaceAsync(name);
        }

        var deploy = Path.Combine(ControlPlaneFixture.FindRepositoryRoot()!, "deploy", "base");
        await fixture.ControlPlane.KubectlAsync(
            ["apply", "-f", Path.Combine(deploy, "webhook-rbac.yaml"), "-f", Path.Combine(deploy, "cluster-agent-rbac.yaml")]);
        await using var webhook = await EmbeddedWebhook.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>(), CancellationToken.None);
        await webhook.RegisterAsync(client, Configuration);
        try
        {
            var (after, afterOutput) = await CheckAsync();
            Assert.True(after == 0, afterOutput);
            Assert.True(afterOutput.Contains($"[ok]   webhook {webhook.Address}", StringComparison.Ordinal), afterOutput);
            Assert.True(afterOutput.Contains("caBundle: verifies the certificate presented at", StringComparison.Ordinal), afterOutput);
            Assert.True(afterOutput.Contains("ready: ", StringComparison.Ordinal), afterOutput);
            Assert.True(afterOutput.Contains($"[ok]   rbac {InstallNamespace}/sidecars-cluster-agent: all ", StringComparison.Ordinal), afterOutput);
            // Installed piecemeal, without the node-profiles DaemonSet: said, but no failure (RuntimeDefault needs none).
            Assert.True(afterOutput.Contains($"[warn] node profiles {InstallNamespace}/sidecars-node-profiles: not installed", StringComparison.Ordinal), afterOutput);
            Assert.True(afterOutput.Contains("check passed", StringComparison.Ordinal), afterOutput);

            // A pod that opts in is injected now, and the check still passes.
            var injected = await client.CoreV1.CreateNamespacedPodAsync(OptedInPod("injected"), team);
            Assert.Equal("true", injected.Metadata.Labels[SidecarsLabels.PodAgent]);
            Assert.Equal(0, (await CheckAsync()).ExitCode);

            // One broken thing: a caBundle from another CA. Exactly its line fails.
            var stranger = CertificateIssuer.CreateAuthority("a-stranger", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
            var registered = await client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(Configuration);
            foreach (var hook in registered.Webhooks)
            {
                hook.ClientConfig.CaBundle = Encoding.UTF8.GetBytes(stranger.CertificatePem);
            }

            await client.AdmissionregistrationV1.ReplaceMutatingWebhookConfigurationAsync(registered, Configuration);
            var (broken, brokenOutput) = await CheckAsync();
            Assert.True(broken == 1, brokenOutput);
            Assert.True(brokenOutput.Contains("caBundle: does not verify the certificate presented at", StringComparison.Ordinal), brokenOutput);
            Assert.True(brokenOutput.Contains("check failed: 2 problems", StringComparison.Ordinal), brokenOutput);
            var failed = brokenOutput.Split('\n').Where(l => l.StartsWith("[FAIL]", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, failed.Count);
            Assert.Contains(failed, l => l.Contains(" caBundle: ", StringComparison.Ordinal));
            Assert.Contains(failed, l => l.Contains(" ready: ", StringComparison.Ordinal) && l.Contains("caBundle", StringComparison.Ordinal));

            // The node-profiles DaemonSet on no node: the profile is missing wherever a sidecar may land.
            await client.AppsV1.CreateNamespacedDaemonSetAsync(NodeProfilesOnNoNode(), InstallNamespace);
            var (unprofiled, unprofiledOutput) = await CheckAsync();
            Assert.True(unprofiled == 1, unprofiledOutput);
            Assert.True(unprofiledOutput.Contains(
                $"[FAIL] node profiles {InstallNamespace}/sidecars-node-profiles: {SidecarsNames.SeccompProfile} kept on 0 of 0 nodes", StringComparison.Ordinal), unprofiledOutput);
        }
        finally
        {
            await client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(Configuration);
        }
    }

    [Fact]
    public async Task A_service_registered_webhook_is_checked_through_its_tls_secret_and_the_service_proxy()
    {
        var client = fixture.Client;
        var install = await fixture.NewNamespaceAsync("install");
        var name = "sidecars-" + install;
        var host = $"sidecars-webhook.{install}.svc";
        var authority = CertificateIssuer.CreateAuthority("service-ca", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
        var serving = CertificateIssuer.IssueServing(authority, [host], [], DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
        await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = new RotationOptions().SecretName },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = Encoding.UTF8.GetBytes(serving.CertificatePem), ["tls.key"] = Encoding.UTF8.GetBytes(serving.KeyPem) },
        }, install);
        // No selector, so no Endpoints: the apiserver's proxy refuses without calling anything.
        await client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "sidecars-webhook" },
            Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = 443, TargetPort = 8443 }] },
        }, install);
        await client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(new V1MutatingWebhookConfiguration
        {
            Metadata = new V1ObjectMeta { Name = name },
            Webhooks =
            [
                new V1MutatingWebhook
                {
                    Name = "pods.sidecars.io",
                    AdmissionReviewVersions = ["v1"],
                    SideEffects = "None",
                    FailurePolicy = "Ignore",
                    ClientConfig = new Admissionregistrationv1WebhookClientConfig
                    {
                        Service = new Admissionregistrationv1ServiceReference { Name = "sidecars-webhook", NamespaceProperty = install, Path = "/mutate", Port = 443 },
                        CaBundle = Encoding.UTF8.GetBytes(authority.CertificatePem),
                    },
                    // Selects nothing: the other tests' pods never reach it.
                    ObjectSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["sidecars.test/never"] = "true" } },
                    Rules = [new V1RuleWithOperations { ApiGroups = [""], ApiVersions = ["v1"], Operations = ["CREATE"], Resources = ["pods"] }],
                },
            ],
        });
        try
        {
            var (exit, output) = await CheckAsync(install, name);

            Assert.True(exit == 1, output);
            var endpoint = $"webhook service {install}/sidecars-webhook:443";
            Assert.True(output.Contains($"[ok]   {endpoint} caBundle: verifies the certificate in Secret {install}/sidecars-webhook-tls for {host}", StringComparison.Ordinal), output);
            Assert.True(output.Contains($"[ok]   {endpoint} certificate: expires in ", StringComparison.Ordinal), output);
            Assert.True(output.Contains($"[FAIL] {endpoint} ready: service {install}/sidecars-webhook:443 does not answer /readyz through the apiserver (", StringComparison.Ordinal), output);
        }
        finally
        {
            await client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(name);
        }
    }

    /// <summary>deploy/'s node-profiles DaemonSet as far as the check reads it, selecting no node.</summary>
    private static V1DaemonSet NodeProfilesOnNoNode()
    {
        var labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "sidecars-node-profiles" };
        return new V1DaemonSet
        {
            Metadata = new V1ObjectMeta { Name = "sidecars-node-profiles", Labels = labels },
            Spec = new V1DaemonSetSpec
            {
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        NodeSelector = new Dictionary<string, string> { ["sidecars.io/no-such-node"] = "true" },
                        Containers = [new V1Container { Name = "profiles", Image = "registry.test/sidecars/agent:1", Args = ["seccomp-profile", "--into", "/var/lib/sidecars/seccomp"] }],
                    },
                },
            },
        };
    }

    private static V1Pod OptedInPod(string name) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Annotations = new Dictionary<string, string> { [SidecarsAnnotations.Inject] = "true", [SidecarsAnnotations.Blessing] = "app" },
        },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "registry.test/app:1" }] },
    };

    private async Task<(int ExitCode, string Output)> CheckAsync(string install = InstallNamespace, string configuration = Configuration)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await BuiltHosts.RunAsync(
            BuiltHosts.Cli, new Dictionary<string, string> { ["KUBECONFIG"] = fixture.ControlPlane.KubeconfigPath },
            ["check", "--namespace", install, "--webhook-configuration", configuration], limit.Token);
    }
}
