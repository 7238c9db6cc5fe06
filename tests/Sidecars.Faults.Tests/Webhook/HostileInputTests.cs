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
        var certificate = _directory.File("tls.crt");
        var key = _directory.File("tls.key");
        await File.WriteAllTextAsync(certificate, pki.ServerCertificate.ExportCertificatePem(), ct);
        await File.WriteAllTextAsync(key, AdminCredentials.ExportPrivateKeyPem(pki.ServerCertificate), ct);
        var port = FreePort.Next();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            BuiltHosts.Webhook, "--Sidecars:Webhook:Address=127.0.0.1", $"--Sidecars:Webhook:Port={port}", "--Sidecars:Webhook:MetricsPort=0",
            $"--Sidecars:Webhook:CertificateFile={certificate}", $"--Sidecars:Webhook:KeyFile={key}",
            $"--Sidecars:Webhook:MaxRequestBytes={MaxRequestBytes}",
            "--Sidecars:Injection:Registry=registry.test/team", "--Sidecars:Injection:ImagePullSecret=regcred",
            "--Sidecars:Injection:ClusterAgentAddress=http://127.0.0.1:1", "--Logging:LogLevel:Default=Warning",
        })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Remove("KUBECONFIG");
        info.Environment.Remove("KUBERNETES_SERVICE_HOST");
        var log = new ConcurrentQueue<string>();
        using var webhook = new Process { StartInfo = info };
        webhook.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        webhook.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        webhook.Start();
        webhook.BeginOutputReadLine();
        webhook.BeginErrorReadLine();
        try
        {
            using var handler = new SocketsHttpHandler
            {
                MaxConnectionsPerServer = Connections,
                SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == pki.ServerCertificate.GetCertHashString() },
            };
            using var client = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            var reviews = Directory.EnumerateFiles(Path.Combine(ControlPlaneFixture.FindRepositoryRoot()!, "tests", "fixtures", "admission-reviews"), "*.json")
                .Select(File.ReadAllText).ToList();
            var real = File.ReadAllText(Path.Combine(ControlPlaneFixture.FindRepositoryRoot()!, "tests", "fixtures", "admission-reviews", "team-a_jupyter-alice_create.json"));
            await Eventually.UntilAsync(async () =>
            {
                Assert.False(webhook.HasExited, "the webhook exited while starting:\n" + string.Join('\n', log));
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

            Assert.True(failures.IsEmpty, $"{failures.Count} reviews got a 5xx or no answer:\n{string.Join('\n', failures.Take(20))}\n{string.Join('\n', log.TakeLast(40))}");
            Assert.False(webhook.HasExited, "the webhook process died:\n" + string.Join('\n', log.TakeLast(40)));
            Assert.True(await AnswersCorrectlyAsync(client, real, ct), "a real review is no longer answered");
            Assert.Equal(Reviews, statuses.Values.Sum() + failures.Count(f => f.Contains("no answer", StringComparison.Ordinal)));
        }
        finally
        {
            if (!webhook.HasExited)
            {
                webhook.Kill(entireProcessTree: true);
            }

            await webhook.WaitForExitAsync(CancellationToken.None);
        }
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
