using Microsoft.Extensions.DependencyInjection;
using Sidecars.Testing;
using Sidecars.Webhook.Hosting;

namespace Sidecars.Webhook.Tests;

/// <summary>
/// A stopping replica keeps answering for its drain period and tells HTTP/1.1 clients to close their connections, so
/// that in a rolling update the apiserver's next review goes to a replica that stays; afterwards it stops listening.
/// </summary>
public sealed class ShutdownDrainTests : IDisposable
{
    private readonly TestCertificates _certificates = new();

    [Fact]
    public async Task A_stopping_webhook_answers_during_the_drain_with_connection_close_then_stops_listening()
    {
        var server = await WebhookServer.StartAsync(_certificates, new Dictionary<string, string?>
        {
            ["Sidecars:Webhook:DrainPeriod"] = "00:00:15",
        });
        await using var _ = server;
        using var pooled = server.CreateClient(pooled: true);
        using (var before = await pooled.GetAsync("/healthz"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, before.StatusCode);
            Assert.NotEqual(true, before.Headers.ConnectionClose);
        }

        var drain = server.Services.GetRequiredService<ShutdownDrain>();
        var stopping = server.StopAsync();
        await Eventually.UntilAsync(() => Task.FromResult(drain.Draining), "the webhook to start draining", TimeSpan.FromSeconds(10));

        // The connection opened before the stop signal is still answered, and asked to close.
        using (var during = await pooled.GetAsync("/healthz"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, during.StatusCode);
            Assert.True(during.Headers.ConnectionClose, "an answer during the drain carries Connection: close");
        }

        // A review on a new connection is answered too (the Service may still route one here).
        using (var fresh = server.CreateClient())
        using (var review = await fresh.PostAsync("/mutate", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.True((int)review.StatusCode is >= 200 and < 500, $"a review during the drain was answered {(int)review.StatusCode}");
            Assert.True(review.Headers.ConnectionClose, "an answer during the drain carries Connection: close");
        }

        await stopping;
        using var after = server.CreateClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => after.GetAsync("/healthz"));
    }

    public void Dispose() => _certificates.Dispose();
}
