using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.Webhook;

/// <summary>
/// Scenario 6, overload: the built webhook, as its own process, is driven open-loop (requests sent on a schedule,
/// whether or not earlier ones were answered, as the apiserver does when pods keep coming) at twice the throughput it
/// reached saturated a moment before (closed loop, 48 callers for its 16 slots), with at most as many reviews
/// outstanding as two apiservers allow themselves (their default in-flight limit for mutating requests; beyond it an
/// apiserver refuses a create with 429 before calling webhooks, counted here as throttled). Every review is answered
/// within the apiserver's 3 s timeout, either decided (200) or refused with 503 and the reason; every refusal is
/// counted in its metric (nothing shed silently); it serves normally again afterwards; and once the overload is over, its
/// resident memory is back within 20 % of what it held at full capacity just before.
/// </summary>
public sealed class OverloadTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Seconds of overload; the suite runs a reduced 10, the soak (soak.sh) the full 60.</summary>
    public const string SecondsVariable = "SIDECARS_FAULTS_OVERLOAD_SECONDS";

    /// <summary>Reviews two apiservers hold in progress at most: twice the default --max-mutating-requests-inflight.</summary>
    private const int ApiServerInFlight = 400;

    private static readonly TimeSpan ApiServerTimeout = TimeSpan.FromSeconds(3);
    private static readonly int Seconds = int.TryParse(Environment.GetEnvironmentVariable(SecondsVariable), out var s) && s > 0 ? s : 10;
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Twice_the_saturated_throughput_is_answered_or_refused_in_time_and_service_returns()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(Seconds * 2));
        var ct = timeout.Token;
        using var pki = new TestPki(_directory.File("pki"));
        var (certificate, key) = await WebhookProcess.WriteServingCertificateAsync(pki, _directory, ct);
        await using var webhook = new WebhookProcess("webhook", pki.ServerCa, new Dictionary<string, string>(WebhookProcess.TestSettings(certificate, key))
        {
            ["Logging:LogLevel:Sidecars"] = "Information",
        });
        await webhook.StartAsync(ct);
        var review = Encoding.UTF8.GetBytes(await File.ReadAllTextAsync(
            Path.Combine(ControlPlaneFixture.FindRepositoryRoot()!, "tests", "fixtures", "admission-reviews", "team-a_jupyter-alice_create.json"), ct));
        using var handler = new SocketsHttpHandler
        {
            // As the apiserver calls webhooks: HTTP/2, more connections when one's streams are all in use.
            EnableMultipleHttp2Connections = true,
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == pki.ServerCertificate.GetCertHashString() },
        };
        using var client = new HttpClient(handler)
        {
            BaseAddress = webhook.Client.BaseAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan,
        };

        // Warm-up: connections opened, code compiled to its final tier.
        var warm = await ClosedLoopAsync(client, review, callers: 16, TimeSpan.FromSeconds(3), ct);
        Assert.True(warm.Failures.IsEmpty, "warming up, reviews failed:\n" + string.Join('\n', warm.Failures.Take(10)));
        var refusedBefore = await RefusedAsync(webhook, ct);

        // Saturated throughput: what it decides per second with always more reviews waiting than it has slots, measured
        // closed loop (each caller sends its next review when the last is answered, 3 for each of the gate's slots), so
        // that the measurement itself sheds nothing and the client's own cost stays bounded. The first rounds still
        // compile hot code to its final tier (and the machine is shared), so at least 5 rounds run, then more until two
        // in a row add less than 10 %; the best round counts. Then twice that, open loop.
        var rate = 0.0;
        var shedMeasuring = 0;
        for (int round = 1, flat = 0; round <= 10 && (round <= 5 || flat < 2); round++)
        {
            var saturated = await ClosedLoopAsync(client, review, callers: 48, TimeSpan.FromSeconds(2), ct, shedding: true);
            Assert.True(saturated.Failures.IsEmpty, "measuring the saturated throughput, reviews failed:\n" + string.Join('\n', saturated.Failures.Take(10)));
            shedMeasuring += saturated.Shed;
            var decided = saturated.Answered / 2.0;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saturation round {round}: 48 closed-loop callers, {decided:0} decided/s, {saturated.Shed} refused"));
            flat = decided > rate * 1.1 ? 0 : flat + 1;
            rate = Math.Max(rate, decided);
        }

        // The resident memory to come back to: the webhook's at full capacity, before the overload.
        var before = webhook.Memory();
        var overload = await OpenLoopAsync(client, review, rate * 2, TimeSpan.FromSeconds(Seconds), ct);
        output.WriteLine(overload.Describe(string.Create(CultureInfo.InvariantCulture, $"saturated {rate:0} reviews/s; overload")));
        var after = webhook.Memory();
        var refused = await RefusedAsync(webhook, ct) - refusedBefore;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"resident {before.Resident:0.0} MiB before, {after.Resident:0.0} MiB after (high-water {after.HighWater:0.0} MiB); {refused} refusals counted in the metric"));

        Assert.True(overload.Failures.IsEmpty, $"{overload.Failures.Count} of {overload.Sent} reviews were not answered in time, or not with 200 or 503 overloaded:\n"
            + string.Join('\n', overload.Failures.Take(20)) + "\n" + webhook.Log);
        Assert.Equal(overload.Sent, overload.Decided + overload.Shed);
        Assert.Equal(shedMeasuring + overload.Shed, (int)refused);
        Assert.True(overload.Shed > 0, "at twice its saturated throughput the webhook refused nothing: the load was not an overload");
        Assert.True(overload.Decided > 0, "no review was decided during the overload");
        Assert.True(webhook.Running, "the webhook process died:\n" + webhook.Log);

        // Afterwards: normal service, every review decided.
        var recovered = await ClosedLoopAsync(client, review, callers: 4, TimeSpan.FromSeconds(2), ct);
        Assert.True(recovered.Failures.IsEmpty, "after the overload, reviews failed:\n" + string.Join('\n', recovered.Failures.Take(10)));
        Assert.True(recovered.Answered > 0, "no review was answered after the overload");

        // Once the overload is over (nothing refused for its quiet period, 5 s) the webhook hands back what it took.
        var settled = before;
        var waited = Stopwatch.StartNew();
        await Eventually.UntilAsync(() =>
        {
            settled = webhook.Memory();
            return Task.FromResult(settled.Resident <= before.Resident * 1.2 && webhook.Log.Contains("Overload over: ", StringComparison.Ordinal));
        }, string.Create(CultureInfo.InvariantCulture, $"the overload declared over and resident memory back within 20 % of {before.Resident:0.0} MiB"), TimeSpan.FromMinutes(1), ct);
        output.WriteLine(string.Join('\n', webhook.Log.Split('\n').Where(l => l.Contains("Overload", StringComparison.Ordinal))));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"after normal service again ({recovered.Answered} reviews in 2 s): resident {settled.Resident:0.0} MiB, {waited.Elapsed.TotalSeconds:0.0} s after the overload"));
    }

    public void Dispose() => _directory.Dispose();

    private static async Task<double> RefusedAsync(WebhookProcess webhook, CancellationToken ct) =>
        await webhook.MetricAsync("sidecars_webhook_admission_requests_total", ct, "reason=\"overloaded\"") ?? 0;

    /// <summary>
    /// Sends reviews on a schedule (<paramref name="rate"/> a second), whether or not earlier ones were answered, as
    /// apiservers do: each holds at most <c>--max-mutating-requests-inflight</c> (200 by default) creates in progress and
    /// refuses the rest itself with 429 before calling any webhook, so at most <see cref="ApiServerInFlight"/> reviews are
    /// outstanding and an arrival beyond them is counted as throttled by the apiserver.
    /// </summary>
    private static async Task<OpenLoop> OpenLoopAsync(HttpClient client, byte[] review, double rate, TimeSpan duration, CancellationToken ct)
    {
        var interval = TimeSpan.FromSeconds(1 / rate);
        var results = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var slowest = 0L;
        var outstanding = 0;
        var throttled = 0;
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        var sent = 0;
        while (clock.Elapsed < duration)
        {
            for (var due = (int)(clock.Elapsed / interval) + 1; sent + throttled < due;)
            {
                if (Volatile.Read(ref outstanding) >= ApiServerInFlight)
                {
                    throttled++;
                    continue;
                }

                Interlocked.Increment(ref outstanding);
                inFlight.Add(Answered(SendOneAsync(client, review, results, failures, r => InterlockedMax(ref slowest, r), ct)));
                sent++;
            }

            // Pacing of the schedule, not a wait for anything.
            await Task.Delay(TimeSpan.FromMilliseconds(5), ct);
        }

        var sending = clock.Elapsed;
        await Task.WhenAll(inFlight);
        return new OpenLoop(sent, throttled, sending, results.GetValueOrDefault("200"), results.GetValueOrDefault("503 overloaded"), failures, TimeSpan.FromTicks(slowest));

        async Task Answered(Task send)
        {
            try
            {
                await send;
            }
            finally
            {
                Interlocked.Decrement(ref outstanding);
            }
        }
    }

    private static async Task SendOneAsync(
        HttpClient client, byte[] review, ConcurrentDictionary<string, int> results, ConcurrentQueue<string> failures, Action<long> answeredIn, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(ApiServerTimeout);
        try
        {
            using var content = new ByteArrayContent(review);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync("/mutate", content, deadline.Token);
            var body = await response.Content.ReadAsStringAsync(deadline.Token);
            answeredIn(Stopwatch.GetElapsedTime(started).Ticks);
            var kind = response.StatusCode switch
            {
                HttpStatusCode.OK when body.Contains("\"allowed\":true", StringComparison.Ordinal) => "200",
                HttpStatusCode.ServiceUnavailable when body.StartsWith("overloaded: ", StringComparison.Ordinal) => "503 overloaded",
                _ => null,
            };
            if (kind is null)
            {
                failures.Enqueue($"{(int)response.StatusCode}: {body[..Math.Min(body.Length, 200)]}");
                return;
            }

            results.AddOrUpdate(kind, 1, (_, n) => n + 1);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            failures.Enqueue($"no answer within {ApiServerTimeout.TotalSeconds} s");
        }
        catch (HttpRequestException e)
        {
            failures.Enqueue($"no answer: {e.Message}");
        }
    }

    private static async Task<(int Answered, int Shed, ConcurrentQueue<string> Failures)> ClosedLoopAsync(
        HttpClient client, byte[] review, int callers, TimeSpan duration, CancellationToken ct, bool shedding = false)
    {
        var results = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                await SendOneAsync(client, review, results, failures, _ => { }, ct);
            }
        }, ct)));
        results.TryGetValue("503 overloaded", out var shed);
        if (shed > 0 && !shedding)
        {
            failures.Enqueue($"{shed} reviews refused as overloaded by {callers} closed-loop callers");
        }

        return (results.GetValueOrDefault("200"), shed, failures);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        for (var current = Interlocked.Read(ref target); value > current; current = Interlocked.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, current) == current)
            {
                return;
            }
        }
    }

    private sealed record OpenLoop(int Sent, int Throttled, TimeSpan Sending, int Decided, int Shed, ConcurrentQueue<string> Failures, TimeSpan Slowest)
    {
        public string Describe(string phase) => string.Create(CultureInfo.InvariantCulture,
            $"{phase}: offered {(Sent + Throttled) / Sending.TotalSeconds:0}/s for {Sending.TotalSeconds:0.0} s: {Throttled} throttled by the apiservers' in-flight limit, {Sent} sent, {Decided} decided (200, {Decided / Sending.TotalSeconds:0}/s), {Shed} refused 503 overloaded, {Failures.Count} failed; slowest answer {Slowest.TotalMilliseconds:0} ms");
    }
}
