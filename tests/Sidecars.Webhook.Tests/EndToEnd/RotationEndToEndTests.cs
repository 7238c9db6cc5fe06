using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Mutation;
using Sidecars.Testing;
using Sidecars.Certificates.Issuing;
using Sidecars.Webhook.Tls;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>
/// The webhook starts with no certificate at all, elects itself, issues its own CA and serving certificate, patches
/// the caBundle, and the apiserver then calls it over TLS it trusts.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class RotationEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Self_issued_certificate_is_trusted_by_the_apiserver_after_the_bundle_is_patched()
    {
        var own = await fixture.NewNamespaceAsync("sidecars-system");
        var directory = Directory.CreateTempSubdirectory("sidecars-rotation-").FullName;
        var name = "sidecars-" + own;
        try
        {
            var settings = ClusterWebhook.Settings(fixture, own);
            settings["Sidecars:Webhook:CertificateFile"] = Path.Combine(directory, "tls.crt");
            settings["Sidecars:Webhook:KeyFile"] = Path.Combine(directory, "tls.key");
            settings["Sidecars:Webhook:WebhookConfigurationName"] = name;
            settings["Sidecars:Webhook:Rotation:Enabled"] = "true";
            settings["Sidecars:Webhook:Rotation:IpAddresses:0"] = "127.0.0.1";
            settings["Sidecars:Webhook:Rotation:DnsNames:0"] = "localhost";
            settings["Sidecars:Webhook:Rotation:CheckInterval"] = "00:00:01";

            // Any CA to start with: the rotator replaces it with its own.
            using var placeholder = new TestCertificates();
            var port = FreePort();
            await WebhookRegistration.RegisterAsync(fixture.Client, name, new Uri($"https://127.0.0.1:{port}"), placeholder.Authority.CertificatePem, "Fail");
            await using var webhook = await WebhookServer.StartAsync(placeholder, settings, port: port);

            var bundle = await WaitForBundleAsync(name, b => b != placeholder.Authority.CertificatePem);
            // The bundle is patched before the Secret is written (no replica may serve a certificate not yet trusted).
            var secret = await WaitForSecretAsync(own, bundle);
            var serving = TlsMaterial.FromData(secret.Data, TlsSecretLayout.Webhook).Serving!;
            using var leaf = serving.Load();
            Assert.True(leaf.NotAfter.ToUniversalTime() - DateTime.UtcNow <= TimeSpan.FromHours(24.1), "short-lived serving certificate");
            await WaitForFileAsync(Path.Combine(directory, "tls.crt"), serving.CertificatePem);

            var ns = await fixture.NewNamespaceAsync("rotated", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
            var pod = await fixture.Client.CoreV1.CreateNamespacedPodAsync(
                new V1Pod
                {
                    Metadata = new V1ObjectMeta { Name = "after-rotation", Annotations = new Dictionary<string, string> { [SidecarsAnnotations.Blessing] = "app" } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "LOCALREGISTRY/app:1" }] },
                },
                ns);

            Assert.Contains(pod.Spec.Containers, c => c.Name == SidecarsNames.PodAgentContainer);
        }
        finally
        {
            await WebhookRegistration.DeleteAsync(fixture.Client, name);
            Directory.Delete(directory, true);
        }
    }

    /// <summary>The Secret the rotator writes right after patching the bundle, once it carries that bundle.</summary>
    private async Task<V1Secret> WaitForSecretAsync(string ns, string bundle)
    {
        V1Secret? secret = null;
        await Eventually.UntilAsync(
            async () =>
            {
                var secrets = await fixture.Client.CoreV1.ListNamespacedSecretAsync(ns, fieldSelector: "metadata.name=sidecars-webhook-tls");
                secret = secrets.Items.SingleOrDefault();
                return secret?.Data is { } data && data.TryGetValue(TlsSecretLayout.Webhook.Bundle, out var stored) && Encoding.UTF8.GetString(stored) == bundle;
            },
            "Secret sidecars-webhook-tls holding the patched bundle");
        return secret!;
    }

    /// <summary>The rotator patches the stored configuration once elected; waits until every webhook carries one new bundle.</summary>
    private async Task<string> WaitForBundleAsync(string name, Func<string, bool> condition)
    {
        var bundle = string.Empty;
        await Eventually.UntilAsync(
            async () =>
            {
                var configuration = await fixture.Client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(name);
                bundle = Encoding.UTF8.GetString(configuration.Webhooks[0].ClientConfig.CaBundle);
                return condition(bundle) && configuration.Webhooks.All(w => Encoding.UTF8.GetString(w.ClientConfig.CaBundle) == bundle);
            },
            $"caBundle of {name} replaced by the rotator",
            TimeSpan.FromSeconds(60));
        return bundle;
    }

    private static Task WaitForFileAsync(string path, string content)
        => Eventually.UntilAsync(
            async () => File.Exists(path) && await File.ReadAllTextAsync(path) == content,
            $"{path} holding the issued certificate",
            TimeSpan.FromSeconds(30));

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
