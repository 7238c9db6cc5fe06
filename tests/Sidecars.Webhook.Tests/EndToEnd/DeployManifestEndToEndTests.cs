using k8s;
using Sidecars.Testing;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>
/// deploy/ (through its Kubernetes 1.20 overlay, the control plane's version) is accepted by a real kube-apiserver as it
/// stands (server-side dry run of kubectl apply -k).
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class DeployManifestEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Kustomize_base_applies_cleanly_to_the_apiserver()
    {
        var root = ControlPlaneFixture.FindRepositoryRoot() ?? throw new InvalidOperationException("repository root not found");
        // A dry run creates nothing, so the namespaces the namespaced objects go into must exist already.
        foreach (var name in new[] { "sidecars-system", "sidecars-user-pods", "sidecars-clusters" })
        {
            var existing = await fixture.Client.CoreV1.ListNamespaceAsync(fieldSelector: "metadata.name=" + name);
            if (existing.Items.Count == 0)
            {
                await fixture.ControlPlane.CreateNamespaceAsync(name);
            }
        }

        var output = await fixture.ControlPlane.KubectlAsync(["apply", "-k", Path.Combine(root, "deploy", "overlays", "kubernetes-1.20"), "--dry-run=server", "-o", "name"]);

        var applied = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("mutatingwebhookconfiguration.admissionregistration.k8s.io/sidecars-webhook", applied);
        Assert.Contains("deployment.apps/sidecars-webhook", applied);
        Assert.Contains("poddisruptionbudget.policy/sidecars-webhook", applied);
        Assert.Contains("clusterrole.rbac.authorization.k8s.io/sidecars-webhook", applied);
        Assert.Contains("deployment.apps/sidecars-cluster-agent", applied);
        Assert.Contains("service/sidecars-user-pods-api", applied);
        Assert.Contains("ingress.networking.k8s.io/sidecars-user-pods-api", applied);
        Assert.Contains("daemonset.apps/sidecars-node-profiles", applied);
        Assert.Equal(30, applied.Length);
    }

    [Fact]
    public async Task Deployed_settings_bind_and_validate()
    {
        var root = ControlPlaneFixture.FindRepositoryRoot()!;
        using var certificates = new TestCertificates();
        var settings = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "deploy", "base", "webhook-settings.json")))!;
        var flat = new Dictionary<string, string?>();
        Flatten(settings, string.Empty, flat);
        flat["Sidecars:Webhook:Repair:Enabled"] = "false";

        await using var server = await WebhookServer.StartAsync(certificates, flat);
        using var client = server.CreateClient();
        using var ready = await client.GetAsync("/readyz");

        ready.EnsureSuccessStatusCode();
    }

    private static void Flatten(System.Text.Json.Nodes.JsonNode node, string prefix, Dictionary<string, string?> into)
    {
        switch (node)
        {
            case System.Text.Json.Nodes.JsonObject o:
                foreach (var (key, value) in o)
                {
                    Flatten(value!, prefix.Length == 0 ? key : prefix + ":" + key, into);
                }

                break;
            case System.Text.Json.Nodes.JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    Flatten(a[i]!, prefix + ":" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), into);
                }

                break;
            default:
                into[prefix] = node.ToString();
                break;
        }
    }
}
