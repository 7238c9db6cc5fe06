using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Sidecars.Identity.Admin;
using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.Webhook;

/// <summary>
/// Scenario 6, hostile input: the built webhook, as its own process, is sent malformed, truncated, deeply nested,
/// oversized, wrong-kind and hostile-annotation AdmissionReviews from concurrent connections. Not one 5xx, the process
/// survives, and a real review is still answered correctly afterwards.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Set by the soak (soak.sh) to run the full count.</summary>
    public const string ReviewsVariable = "SIDECARS_FAULTS_HOSTILE_REVIEWS";

    private const int MaxRequestBytes = 65_536;
    private const int Connections = 8;

    /// <summary>Reduced for the suite; the soak sends 100,000.</summary>
    private static readonly int Reviews = int.TryParse(Environment.GetEnvironmentVariable(ReviewsVariable), out var n) && n > 0 ? n : 5_000;

    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task No_5xx_and_the_process_survives()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5 + (Reviews / 5_000)));
        var ct = timeout.Token;
        using var pki = new TestPki(_directory.File("pki"));
        var (certificate, key) = await WebhookProcess.WriteServingCertificateAsync(pki, _directory, ct);
        await using var webhook = new WebhookProcess("webhook", pki.ServerCa, new Dictionary<string, string>(WebhookProcess.TestSettings(certificate, key))
        {
            ["Sidecars:Webhook:MaxRequestBytes"] = MaxRequestBytes.ToString(CultureInfo.InvariantCulture),
        });
        await webhook.StartAsync(ct);
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Connections,
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == pki.ServerCertificate.GetCertHashString() },
        };
        using var client = new HttpClient(handler) { BaseAddress = webhook.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var reviews = Directory.EnumerateFiles(Path.Combine(ControlPlaneFixture.FindRepositoryRoot()!, "tests", "fixtures", "admission-reviews"), "*.json")
            .Select(File.ReadAllText).ToList();
        var real = File.ReadAllText(Path.Combine(ControlPlaneFixture.FindRepositoryRoot()!, "tests", "fixtures", "admission-reviews", "team-a_jupyter-alice_create.json"));
        await Eventually.UntilAsync(async () =>
        {
            Assert.True(webhook.Running, "the webhook exited:\n" + webhook.Log);
            try
            {
                return await AnswersCorrectlyAsync(client, real, ct);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the webhook answers a real review", TimeSpan.FromMinutes(2), ct);

        var statuses = new ConcurrentDictionary<(string Shape, int Status), int>();
        var failures = new ConcurrentQueue<string>();
        var retried = new ConcurrentQueue<string>();
        var next = -1;
        var generators = Enumerable.Range(0, Connections).Select(c => new HostileReviews(reviews, seed: c, MaxRequestBytes)).ToArray();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(generators.Select(generator => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < Reviews; i = Interlocked.Increment(ref next))
            {
                var (body, shape) = generator.Next(i);
                // A connection the server closed after refusing an oversized body may fail the next request on
                // it before it is sent: such a request is sent once more; a second failure counts.
                for (var attempt = 1; ; attempt++)
                {
                    // With Expect: 100-continue an oversized body is refused before it is sent, as the server
                    // intends; without it the client may still be writing when the refused connection closes.
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/mutate") { Content = new ByteArrayContent(body) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    request.Headers.ExpectContinue = true;
                    try
                    {
                        using var response = await client.SendAsync(request, ct);
                        statuses.AddOrUpdate((shape, (int)response.StatusCode), 1, (_, count) => count + 1);
                        if ((int)response.StatusCode >= 500)
                        {
                            failures.Enqueue($"{shape} #{i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                        }

                        break;
                    }
                    catch (HttpRequestException e) when (attempt == 1)
                    {
                        retried.Enqueue($"{shape} #{i}: {e.Message}");
                    }
                    catch (HttpRequestException e)
                    {
                        failures.Enqueue($"{shape} #{i}: no answer ({e.Message})");
                        break;
                    }
                }
            }
        }, ct)));

        output.WriteLine($"{Reviews} hostile reviews over {Connections} connections in {clock.Elapsed.TotalSeconds:0.0} s; {retried.Count} sent twice after a closed connection");
        foreach (var ((shape, status), count) in statuses.OrderBy(s => s.Key.Shape, StringComparer.Ordinal).ThenBy(s => s.Key.Status))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {shape,-20} {status} x {count}"));
        }

        Assert.True(failures.IsEmpty, $"{failures.Count} reviews got a 5xx or no answer:\n{string.Join('\n', failures.Take(20))}\n{webhook.Log}");
        Assert.True(webhook.Running, "the webhook process died:\n" + webhook.Log);
        Assert.True(await AnswersCorrectlyAsync(client, real, ct), "a real review is no longer answered");
        Assert.Equal(Reviews, statuses.Values.Sum() + failures.Count(f => f.Contains("no answer", StringComparison.Ordinal)));
    }

    public void Dispose() => _directory.Dispose();

    private static async Task<bool> AnswersCorrectlyAsync(HttpClient client, string review, CancellationToken ct)
    {
        using var content = new StringContent(review, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/mutate", content, ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return false;
        }

        var answer = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["response"]!;
        return answer["uid"]!.GetValue<string>() == "cb1d6dce-ddb0-4448-b00d-82e97ad1ae86" && answer["allowed"]!.GetValue<bool>();
    }
}
