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
/// reached saturated a moment before. Every review is answered within the apiserver's 3 s timeout, either decided (200)
/// or refused with 503 and the reason; every refusal is counted in its metric (nothing shed silently); resident memory
/// afterwards is within 20 % of before; and afterwards it serves normally again.
/// </summary>
public sealed class OverloadTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Seconds of overload; the suite runs a reduced 10, the soak (soak.sh) the full 60.</summary>
    public const string SecondsVariable = "SIDECARS_FAULTS_OVERLOAD_SECONDS";

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

        // Warm-up (connections opened, code compiled to its final tier), then the resident memory to come back to.
        var warm = await ClosedLoopAsync(client, review, callers: 16, TimeSpan.FromSeconds(3), ct);
        Assert.True(warm.Failures.IsEmpty, "warming up, reviews failed:\n" + string.Join('\n', warm.Failures.Take(10)));
        var before = webhook.Memory();
        var refusedBefore = await RefusedAsync(webhook, ct);

        // Saturated throughput: what it decides per second when offered more than it can. The first seconds of an
        // overload are spent growing the thread pool, opening connections and compiling the hot code to its final tier,
        // so the throughput rises for a while: probes (each answered like the rest; the first at three times what 16
        // closed-loop callers got, their own round trips holding them below it) run until it stops rising. Then
        // twice that, open loop.
        var probes = new List<OpenLoop>();
        var offeredProbe = warm.Answered / 3.0 * 3;
        var rate = 0.0;
        for (var i = 0; i < 6; i++)
        {
            var probe = await OpenLoopAsync(client, review, offeredProbe, TimeSpan.FromSeconds(2), ct);
            probes.Add(probe);
            output.WriteLine(probe.Describe($"saturation probe {i + 1}"));
            var decided = probe.Decided / probe.Sending.TotalSeconds;
            var rising = decided > rate * 1.1;
            rate = Math.Max(rate, decided);
            offeredProbe = Math.Max(offeredProbe, rate * 2);
            if (!rising && probe.Shed > 0)
            {
                break;
            }
        }

        var overload = await OpenLoopAsync(client, review, rate * 2, TimeSpan.FromSeconds(Seconds), ct);
        output.WriteLine(overload.Describe(string.Create(CultureInfo.InvariantCulture, $"saturated {rate:0} reviews/s; overload")));
        var after = webhook.Memory();
        var refused = await RefusedAsync(webhook, ct) - refusedBefore;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"resident {before.Resident:0.0} MiB before, {after.Resident:0.0} MiB after (high-water {after.HighWater:0.0} MiB); {refused} refusals counted in the metric"));

        foreach (var phase in probes.Append(overload))
        {
            Assert.True(phase.Failures.IsEmpty, $"{phase.Failures.Count} of {phase.Sent} reviews were not answered in time, or not with 200 or 503 overloaded:\n"
                + string.Join('\n', phase.Failures.Take(20)) + "\n" + webhook.Log);
            Assert.Equal(phase.Sent, phase.Decided + phase.Shed);
        }

        Assert.Equal(probes.Sum(p => p.Shed) + overload.Shed, (int)refused);
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
            return Task.FromResult(settled.Resident <= before.Resident * 1.2);
        }, string.Create(CultureInfo.InvariantCulture, $"resident memory back within 20 % of {before.Resident:0.0} MiB"), TimeSpan.FromMinutes(1), ct);
        Assert.Contains("Overload over: ", webhook.Log, StringComparison.Ordinal);
        output.WriteLine(string.Join('\n', webhook.Log.Split('\n').Where(l => l.Contains("Overload", StringComparison.Ordinal))));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"after normal service again ({recovered.Answered} reviews in 2 s): resident {settled.Resident:0.0} MiB, {waited.Elapsed.TotalSeconds:0.0} s after the overload"));
    }

    public void Dispose() => _directory.Dispose();

    private static async Task<double> RefusedAsync(WebhookProcess webhook, CancellationToken ct) =>
        await webhook.MetricAsync("sidecars_webhook_admission_requests_total", ct, "reason=\"overloaded\"") ?? 0;

    /// <summary>Sends reviews on a schedule (<paramref name="rate"/> a second), whether or not earlier ones were answered.</summary>
    private static async Task<OpenLoop> OpenLoopAsync(HttpClient client, byte[] review, double rate, TimeSpan duration, CancellationToken ct)
    {
        var interval = TimeSpan.FromSeconds(1 / rate);
        var results = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var slowest = 0L;
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        var sent = 0;
        while (clock.Elapsed < duration)
        {
            for (var due = (int)(clock.Elapsed / interval) + 1; sent < due; sent++)
            {
                inFlight.Add(SendOneAsync(client, review, results, failures, r => InterlockedMax(ref slowest, r), ct));
            }

            // Pacing of the schedule, not a wait for anything.
            await Task.Delay(TimeSpan.FromMilliseconds(5), ct);
        }

        var sending = clock.Elapsed;
        await Task.WhenAll(inFlight);
        return new OpenLoop(sent, sending, results.GetValueOrDefault("200"), results.GetValueOrDefault("503 overloaded"), failures, TimeSpan.FromTicks(slowest));
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

    private static async Task<(int Answered, ConcurrentQueue<string> Failures)> ClosedLoopAsync(
        HttpClient client, byte[] review, int callers, TimeSpan duration, CancellationToken ct)
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
        if (shed > 0)
        {
            failures.Enqueue($"{shed} reviews refused as overloaded by {callers} closed-loop callers");
        }

        return (results.GetValueOrDefault("200"), failures);
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

    private sealed record OpenLoop(int Sent, TimeSpan Sending, int Decided, int Shed, ConcurrentQueue<string> Failures, TimeSpan Slowest)
    {
        public string Describe(string phase) => string.Create(CultureInfo.InvariantCulture,
            $"{phase}: offered {Sent / Sending.TotalSeconds:0}/s for {Sending.TotalSeconds:0.0} s: {Sent} sent, {Decided} decided (200, {Decided / Sending.TotalSeconds:0}/s), {Shed} refused 503 overloaded, {Failures.Count} failed; slowest answer {Slowest.TotalMilliseconds:0} ms");
    }
}
