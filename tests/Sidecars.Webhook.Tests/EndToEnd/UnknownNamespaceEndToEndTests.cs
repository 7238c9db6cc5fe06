using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Sidecars.Testing;
using Xunit.Abstractions;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>
/// Reviews for namespaces that do not exist (the apiserver never sends them; anything else that reaches the webhook
/// port can) cost the apiserver a bounded number of reads, counted by the apiserver itself.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class UnknownNamespaceEndToEndTests(ControlPlaneFixture fixture, ITestOutputHelper output)
{
    private const int DistinctNames = 1_000;
    private const int Reviews = 2_000;

    [Fact]
    public async Task A_flood_of_reviews_for_made_up_namespaces_causes_a_bounded_number_of_namespace_reads()
    {
        using var certificates = new TestCertificates();
        var own = await fixture.NewNamespaceAsync("sidecars-system");
        // Without client authentication (the default): anything that reaches the port can send reviews.
        var settings = ClusterWebhook.Settings(fixture, own);
        settings.Remove("Sidecars:Webhook:ClientCertificateAuthorityFile");
        settings.Remove("Sidecars:Webhook:ClientCertificateNames:0");
        await using var webhook = await WebhookServer.StartAsync(certificates, settings);
        using var client = webhook.CreateClient(pooled: true);
        var template = Fixtures.ReadNode("team-a_jupyter-alice_create.json");

        // One review for a namespace that exists first: the connection, the engine and the informer are warm.
        await PostAsync(client, template, own);
        var before = await NamespaceGetsAsync();
        var clock = Stopwatch.StartNew();
        var next = -1;
        var posted = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var i && i < Reviews)
            {
                using var response = await PostAsync(client, template, $"made-up-{i % DistinctNames}");
                Assert.True(response.IsSuccessStatusCode, $"review {i}: {(int)response.StatusCode}");
                Interlocked.Increment(ref posted);
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        var reads = await NamespaceGetsAsync() - before;

        output.WriteLine($"{reads} namespace reads for {Reviews} reviews of {DistinctNames} made-up namespaces in {seconds:F1} s");
        Assert.Equal(Reviews, posted);
        // Burst of 10 and one a second (the production bounds), plus a little for other clients of this control plane.
        var bound = 10 + Math.Ceiling(seconds) + 10;
        Assert.True(reads <= bound, $"{reads} namespace reads for {Reviews} reviews in {seconds:F1} s (bound {bound})");
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, JsonObject template, string @namespace)
    {
        var review = template.DeepClone().AsObject();
        var request = review["request"]!.AsObject();
        request["namespace"] = @namespace;
        request["uid"] = Guid.NewGuid().ToString();
        request["object"]!["metadata"]!["namespace"] = @namespace;
        return client.PostAsync("/mutate", new StringContent(review.ToJsonString(), Encoding.UTF8, "application/json"));
    }

    /// <summary>GET requests for single namespaces the apiserver has served, from its own apiserver_request_total.</summary>
    private async Task<double> NamespaceGetsAsync()
    {
        var exposition = await fixture.ControlPlane.KubectlAsync(["get", "--raw", "/metrics"]);
        return exposition.Split('\n')
            .Where(line => line.StartsWith("apiserver_request_total{", StringComparison.Ordinal)
                && line.Contains("resource=\"namespaces\"", StringComparison.Ordinal)
                && line.Contains("verb=\"GET\"", StringComparison.Ordinal)
                && line.Contains("subresource=\"\"", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }
}
