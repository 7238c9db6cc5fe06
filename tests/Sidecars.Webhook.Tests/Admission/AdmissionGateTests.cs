using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sidecars.Webhook.Admission;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Tests;

/// <summary>
/// Under overload the webhook answers every review: beyond its concurrency and queue bounds a review is refused at once
/// with 503 and the reason (so the apiserver applies the failurePolicy inside its timeout) instead of waiting unanswered.
/// </summary>
public sealed class AdmissionGateTests : IDisposable
{
    private readonly TestCertificates _certificates = new();

    [Fact]
    public async Task A_review_beyond_the_bounds_is_answered_503_overloaded_and_served_again_once_a_slot_frees()
    {
        await using var server = await WebhookServer.StartAsync(_certificates, new Dictionary<string, string?>
        {
            ["Sidecars:Webhook:MaxConcurrentReviews"] = "1",
            ["Sidecars:Webhook:MaxQueuedReviews"] = "0",
        });
        var gate = server.Services.GetRequiredService<AdmissionGate>();
        using var client = server.CreateClient();
        var refused = WebhookMetrics.AdmissionRequests.WithLabels("rejected", AdmissionGate.OverloadedReason);
        var before = refused.Value;

        var held = await gate.EnterAsync(CancellationToken.None);
        Assert.NotNull(held);
        using (var response = await PostReviewAsync(client))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.StartsWith("overloaded: ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        }

        Assert.Equal(before + 1, refused.Value);
        held.Dispose();
        using (var response = await PostReviewAsync(client))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("\"allowed\":true", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_body_that_does_not_arrive_in_time_is_refused_408_and_frees_its_slot()
    {
        await using var server = await WebhookServer.StartAsync(_certificates, new Dictionary<string, string?>
        {
            ["Sidecars:Webhook:MaxConcurrentReviews"] = "1",
            ["Sidecars:Webhook:MaxQueuedReviews"] = "0",
            ["Sidecars:Webhook:BodyTimeout"] = "00:00:00.200",
        });
        using var client = server.CreateClient();
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/mutate")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new TrickleContent(Encoding.UTF8.GetBytes("{\"apiVersion\":"), stalled.Task),
        })
        {
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Content.Headers.ContentLength = 10_000;
            using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.RequestTimeout, response.StatusCode);
            Assert.StartsWith("body-timeout: ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        stalled.SetResult();
        // The one slot is free again: a whole review is decided.
        using var decided = await PostReviewAsync(client);
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
    }

    [Fact]
    public async Task A_queued_review_gets_the_first_free_slot_and_one_that_waits_too_long_is_refused()
    {
        using var gate = NewGate(maxConcurrent: 1, maxQueued: 1, queueTimeout: TimeSpan.FromSeconds(30));
        var first = await gate.EnterAsync(CancellationToken.None);
        Assert.NotNull(first);
        var queued = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(queued.IsCompleted, "the second review waits for the slot");
        // The queue holds one: a third review is refused without waiting.
        Assert.Null(await gate.EnterAsync(CancellationToken.None));
        first.Dispose();
        using var second = await queued;
        Assert.NotNull(second);

        using var impatient = NewGate(maxConcurrent: 1, maxQueued: 1, queueTimeout: TimeSpan.FromMilliseconds(50));
        using var holder = await impatient.EnterAsync(CancellationToken.None);
        Assert.Null(await impatient.EnterAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_caller_that_goes_away_while_queued_is_not_counted_as_refused()
    {
        using var gate = NewGate(maxConcurrent: 1, maxQueued: 1, queueTimeout: TimeSpan.FromSeconds(30));
        using var holder = await gate.EnterAsync(CancellationToken.None);
        using var caller = new CancellationTokenSource();
        var queued = gate.EnterAsync(caller.Token).AsTask();
        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
    }

    public void Dispose() => _certificates.Dispose();

    private static AdmissionGate NewGate(int maxConcurrent, int maxQueued, TimeSpan queueTimeout) =>
        new(Options.Create(new WebhookOptions { MaxConcurrentReviews = maxConcurrent, MaxQueuedReviews = maxQueued, QueueTimeout = queueTimeout }),
            TimeProvider.System, NullLogger<AdmissionGate>.Instance);

    private static async Task<HttpResponseMessage> PostReviewAsync(HttpClient client)
    {
        using var content = new StringContent(Fixtures.Read("team-a_jupyter-alice_create.json"), Encoding.UTF8, "application/json");
        return await client.PostAsync("/mutate", content);
    }

    /// <summary>Sends the first bytes of a body, then nothing until <c>release</c> completes.</summary>
    private sealed class TrickleContent(byte[] first, Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(first);
            await stream.FlushAsync();
            await release;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
