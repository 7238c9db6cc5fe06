using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sidecars.Conventions;
using Sidecars.Mutation;
using Sidecars.Testing;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>A second webhook that also mutates pods makes the apiserver call ours again; nothing is injected twice.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ReinvocationEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Reinvocation_after_another_mutating_webhook_adds_no_duplicates()
    {
        using var certificates = new TestCertificates();
        await using var ours = await ClusterWebhook.StartAsync(fixture, certificates);
        await using var other = await OtherWebhook.StartAsync(certificates);
        // Webhooks run in the order of their configuration names: "zz-" runs after ours and changes the pod.
        var otherName = "zz-other-" + ours.ConfigurationName;
        await WebhookRegistration.RegisterAsync(fixture.Client, otherName, other.Address, certificates.Authority.CertificatePem, "Fail", reinvocation: "IfNeeded");
        try
        {
            var ns = await fixture.NewNamespaceAsync("reinvoke", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
            await fixture.ControlPlane.KubectlAsync(["apply", "-n", ns, "-f", "-"], user: "alice", stdin: Manifests.DeploymentAndPod.Split("---")[1]);

            var pod = await fixture.Client.CoreV1.ReadNamespacedPodAsync("jupyter", ns);

            Assert.True(other.Calls >= 1, "the other webhook was called");
            Assert.Equal("yes", pod.Metadata.Annotations["other.test/touched"]);
            Assert.Single(pod.Spec.Volumes, v => v.Name == "other-cache");
            InjectionEndToEndTests.AssertInjected(pod, expectLightpeer: false);
            Assert.Equal(pod.Spec.Volumes.Count, pod.Spec.Volumes.Select(v => v.Name).Distinct().Count());
            foreach (var container in pod.Spec.Containers)
            {
                var env = container.Env ?? [];
                Assert.Equal(env.Count, env.Select(e => e.Name).Distinct().Count());
                var mounts = container.VolumeMounts ?? [];
                Assert.Equal(mounts.Count, mounts.Select(m => m.MountPath).Distinct().Count());
            }

            Assert.Equal(pod.Spec.Containers.Count, pod.Spec.Containers.Select(c => c.Name).Distinct().Count());
            Assert.Single(pod.Spec.ImagePullSecrets);
        }
        finally
        {
            await WebhookRegistration.DeleteAsync(fixture.Client, otherName);
        }
    }

    /// <summary>A minimal unrelated webhook: annotates the pod and adds a volume of its own.</summary>
    private sealed class OtherWebhook : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _calls;

        private OtherWebhook(WebApplication app) => _app = app;

        public Uri Address { get; private set; } = null!;

        public int Calls => _calls;

        public static async Task<OtherWebhook> StartAsync(TestCertificates certificates)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certificates.CertificateFile, certificates.KeyFile);
            var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
            var app = builder.Build();
            var webhook = new OtherWebhook(app);
            app.MapPost("/mutate", async context =>
            {
                Interlocked.Increment(ref webhook._calls);
                using var review = await JsonDocument.ParseAsync(context.Request.Body);
                var request = review.RootElement.GetProperty("request");
                var pod = request.GetProperty("object");
                var patch = new List<object>();
                if (!pod.GetProperty("metadata").TryGetProperty("annotations", out _))
                {
                    patch.Add(new { op = "add", path = "/metadata/annotations", value = new Dictionary<string, string>() });
                }

                patch.Add(new { op = "add", path = "/metadata/annotations/other.test~1touched", value = "yes" });
                var hasVolume = pod.GetProperty("spec").TryGetProperty("volumes", out var volumes)
                    && volumes.EnumerateArray().Any(v => v.GetProperty("name").GetString() == "other-cache");
                if (!hasVolume)
                {
                    patch.Add(new { op = "add", path = "/spec/volumes/-", value = new { name = "other-cache", emptyDir = new { } } });
                }

                var response = new
                {
                    apiVersion = "admission.k8s.io/v1",
                    kind = "AdmissionReview",
                    response = new
                    {
                        uid = request.GetProperty("uid").GetString(),
                        allowed = true,
                        patchType = "JSONPatch",
                        patch = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(patch)),
                    },
                };
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(JsonSerializer.Serialize(response));
            });
            await app.StartAsync();
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            webhook.Address = new Uri(bound);
            return webhook;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
