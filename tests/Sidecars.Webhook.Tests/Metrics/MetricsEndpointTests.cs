using System.Net;
using System.Text;

namespace Sidecars.Webhook.Tests;

/// <summary>What the real webhook publishes on /metrics once it has been scraped and has served admissions.</summary>
public sealed class MetricsEndpointTests : RunningWebhookTests
{
    [Fact]
    public async Task Admissions_are_measured_once_by_our_histogram_not_again_by_the_per_request_aspnetcore_meters()
    {
        // The first scrape starts prometheus-net's meter adapter; every request after it is a new connection.
        await ScrapeAsync();
        for (var i = 0; i < 3; i++)
        {
            using var content = new StringContent(Fixtures.Read("team-a_lightpeer-a_create.json"), Encoding.UTF8, "application/json");
            using var response = await Client.PostAsync("/mutate", content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var metrics = await ScrapeAsync();

        Assert.Contains("\nsidecars_webhook_admission_duration_seconds_count{outcome=", metrics, StringComparison.Ordinal);
        Assert.Contains("\nmicrosoft_aspnetcore_server_kestrel_kestrel_tls_handshake_duration_count", metrics, StringComparison.Ordinal);
        Assert.Contains("\nsystem_runtime_", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("\nmicrosoft_aspnetcore_hosting_", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("\nmicrosoft_aspnetcore_routing_", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("\nmicrosoft_aspnetcore_memorypool_", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("\nprivate_", metrics, StringComparison.Ordinal);
    }

    private async Task<string> ScrapeAsync()
    {
        using var response = await Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
