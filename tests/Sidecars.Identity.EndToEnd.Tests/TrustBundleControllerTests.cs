using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;
using Sidecars.Identity.Trust;
using Sidecars.Kubernetes;
using Sidecars.Testing;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>The trust bundle controller on the local control plane: ConfigMap sidecars-ca follows the opted-in namespaces and the Secret.</summary>
[Collection(IdentityCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class TrustBundleControllerTests(ControlPlaneFixture fixture)
{
    private static readonly Dictionary<string, string> OptedIn = new() { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled };

    private IKubernetes Client => fixture.Client;

    [Fact]
    public async Task ConfigMap_appears_in_opted_in_namespaces_follows_rotation_is_restored_and_leaves_on_opt_out()
    {
        var tls = new ClusterAgentTls(await fixture.NewNamespaceAsync("agent-tls"));
        var first = ClusterAgentTls.NewAuthority("cluster-agent-ca-1");
        var second = ClusterAgentTls.NewAuthority("cluster-agent-ca-2");
        await tls.PublishAsync(Client, ClusterAgentTls.Bundle(first), tls.Serve(first));
        var before = await fixture.NewNamespaceAsync("trust-before", OptedIn);

        await using var informers = new SharedInformerFactory(KubernetesConnection.Of(Client), NullLoggerFactory.Instance);
        using var controller = new TrustBundleController(
            Client, informers, Options.Create(new TrustOptions { Namespace = tls.Namespace }), TimeProvider.System, NullLogger<TrustBundleController>.Instance);
        await controller.StartAsync(CancellationToken.None);
        try
        {
            // A namespace opted in before the controller started, one created opted in, one labelled later.
            await BundleIsAsync(before, ClusterAgentTls.Bundle(first));
            var created = await fixture.NewNamespaceAsync("trust-new", OptedIn);
            await BundleIsAsync(created, ClusterAgentTls.Bundle(first));
            var plain = await fixture.NewNamespaceAsync("trust-plain");
            await LabelAsync(plain, SidecarsLabels.NamespaceInjectionEnabled);
            await BundleIsAsync(plain, ClusterAgentTls.Bundle(first));

            // Rotation: old and new while both serve, then the new alone.
            await tls.PublishAsync(Client, ClusterAgentTls.Bundle(first, second), tls.Serve(second));
            foreach (var ns in new[] { before, created, plain })
            {
                await BundleIsAsync(ns, ClusterAgentTls.Bundle(first, second));
            }

            await tls.PublishAsync(Client, ClusterAgentTls.Bundle(second), tls.Serve(second));
            await BundleIsAsync(created, ClusterAgentTls.Bundle(second));

            // Tampering and deletion are undone.
            var tampered = await Client.CoreV1.ReadNamespacedConfigMapAsync(SidecarsNames.TrustBundleConfigMap, created);
            tampered.Data[SidecarsNames.TrustBundleKey] = "-----BEGIN CERTIFICATE-----\nforged\n-----END CERTIFICATE-----\n";
            await Client.CoreV1.ReplaceNamespacedConfigMapAsync(tampered, SidecarsNames.TrustBundleConfigMap, created);
            await BundleIsAsync(created, ClusterAgentTls.Bundle(second));
            await Client.CoreV1.DeleteNamespacedConfigMapAsync(SidecarsNames.TrustBundleConfigMap, created);
            await BundleIsAsync(created, ClusterAgentTls.Bundle(second));

            // Opting out removes it; a namespace that never opted in never had one.
            await LabelAsync(plain, "disabled");
            await Eventually.UntilAsync(async () => await ReadAsync(plain) is null, $"ConfigMap {SidecarsNames.TrustBundleConfigMap} to leave opted-out namespace {plain}");
            var never = await fixture.NewNamespaceAsync("trust-never");
            await BundleIsAsync(before, ClusterAgentTls.Bundle(second));
            Assert.Null(await ReadAsync(never));
            Assert.Null(await ReadAsync(plain));
        }
        finally
        {
            await controller.StopAsync(CancellationToken.None);
        }
    }

    private async Task BundleIsAsync(string ns, string bundle) =>
        await Eventually.UntilAsync(
            async () => await ReadAsync(ns) is { } map && Value(map.Data, SidecarsNames.TrustBundleKey) == bundle
                && Value(map.Metadata.Labels, SidecarsLabels.ManagedBy) == SidecarsLabels.ManagedByValue,
            $"ConfigMap {ns}/{SidecarsNames.TrustBundleConfigMap} to hold the expected CA bundle", TimeSpan.FromSeconds(30));

    private static string? Value(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var value) ? value : null;

    private async Task<V1ConfigMap?> ReadAsync(string ns)
    {
        try
        {
            return await Client.CoreV1.ReadNamespacedConfigMapAsync(SidecarsNames.TrustBundleConfigMap, ns);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private Task LabelAsync(string ns, string value) =>
        Client.CoreV1.PatchNamespaceAsync(
            new V1Patch(
                KubernetesJson.Serialize(new V1Namespace { Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = value } } }),
                V1Patch.PatchType.MergePatch), ns);
}
