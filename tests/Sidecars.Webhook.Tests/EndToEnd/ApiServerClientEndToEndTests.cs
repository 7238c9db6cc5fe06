using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Sidecars.LocalCluster;
using Sidecars.Testing;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>
/// With client authentication configured, only the apiserver's own client certificate may send reviews; every other
/// end-to-end test already runs this way (the apiserver presents its certificate to the webhooks it calls).
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ApiServerClientEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Reviews_from_anyone_but_the_apiserver_are_refused_with_the_reason()
    {
        using var certificates = new TestCertificates();
        var own = await fixture.NewNamespaceAsync("sidecars-system");
        await using var webhook = await WebhookServer.StartAsync(certificates, ClusterWebhook.Settings(fixture, own));
        var review = Fixtures.Read("team-a_jupyter-alice_create.json");
        var pki = Path.Combine(fixture.ControlPlane.StateDirectory, "pki");
        using var apiserver = X509Certificate2.CreateFromPemFile(Path.Combine(pki, "webhook-client.crt"), Path.Combine(pki, "webhook-client.key"));
        var user = fixture.ControlPlane.IssueServingCertificate("alice");
        using var sameAuthorityOtherName = X509Certificate2.CreateFromPem(user.CertificatePem, user.PrivateKeyPem);
        var stranger = certificates.IssueServing();
        using var otherAuthority = X509Certificate2.CreateFromPem(stranger.CertificatePem, stranger.KeyPem);

        async Task<(HttpStatusCode Status, string Body)> PostAsync(X509Certificate2? certificate)
        {
            using var client = webhook.CreateClient(clientCertificate: certificate);
            using var response = await client.PostAsync("/mutate", new StringContent(review, Encoding.UTF8, "application/json"));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(apiserver)).Status);
        foreach (var (certificate, expected) in new (X509Certificate2?, string)[]
        {
            (null, "a client certificate is required"),
            (sameAuthorityOtherName, "client certificate name \"alice\" is not one of the allowed names"),
            (otherAuthority, "not issued by the configured authority"),
        })
        {
            var (status, body) = await PostAsync(certificate);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.StartsWith("unauthenticated-client:", body, StringComparison.Ordinal);
            Assert.Contains(expected, body, StringComparison.Ordinal);
        }

        // Probes and metrics stay open to the kubelet and Prometheus.
        using var anonymous = webhook.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
    }
}
