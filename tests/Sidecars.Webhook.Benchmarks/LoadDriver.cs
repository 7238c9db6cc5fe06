using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Sidecars.Webhook.Benchmarks;

internal sealed record LoadResult(string Name, int Sent, int Failed, double Seconds, double P50Ms, double P99Ms, double MaxMs, TimeSpan ServerCpu)
{
    public double RequestsPerSecond => (Sent - Failed) / Seconds;

    /// <summary>Server CPU time (user + system) spent per request during the measured phase.</summary>
    public double ServerCpuMicrosecondsPerRequest => ServerCpu.TotalMicroseconds / Sent;
}

/// <summary>How the load is offered: rate, measured duration, warm-up at the same rate, and the connection pool.</summary>
internal sealed record LoadShape(int Rate, TimeSpan Duration, TimeSpan WarmUp, int Connections);

/// <summary>
/// Open-loop load at a fixed rate: requests leave on schedule whether or not earlier ones returned, so a stalled server
/// shows up in the tail (requests queue for a pooled connection) instead of slowing the generator. Latency runs from the
/// moment a request is handed to the client, which leaves the dispatch loop's own timer jitter out of the figure.
/// The connection pool is opened before the clock starts and the first seconds at the target rate are discarded, as a
/// kube-apiserver keeps its connections to a webhook open and a long-running server has finished its JIT tiering.
/// </summary>
internal static class LoadDriver
{
    public static async Task<LoadResult> RunAsync(string name, Process server, Uri url, string body, X509Certificate2 authority, LoadShape shape, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = shape.Connections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(authority);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return certificate is not null && chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                },
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        var payload = Encoding.UTF8.GetBytes(body);

        // Open every pooled connection: as many concurrent requests as connections, a few rounds.
        for (var round = 0; round < 5; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, shape.Connections).Select(_ => SendAsync(client, url, payload, cancellationToken)));
        }

        await OfferAsync(client, url, payload, shape.Rate, shape.WarmUp, cancellationToken);
        server.Refresh();
        var cpuBefore = server.TotalProcessorTime;
        var measured = await OfferAsync(client, url, payload, shape.Rate, shape.Duration, cancellationToken);
        server.Refresh();
        var serverCpu = server.TotalProcessorTime - cpuBefore;
        var latencies = measured.Latencies;
        Array.Sort(latencies);
        return new LoadResult(name, latencies.Length, measured.Failures, measured.Seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], serverCpu);
    }

    private static async Task<(double[] Latencies, int Failures, double Seconds)> OfferAsync(HttpClient client, Uri url, byte[] payload, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var total = Math.Max(1, (int)(rate * duration.TotalSeconds));
        var latencies = new double[total];
        var failures = 0;
        var inflight = new Task[total];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var scheduled = TimeSpan.FromSeconds((double)i / rate);
            var wait = scheduled - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }

            inflight[i] = SendTimedAsync(i, clock.Elapsed);
        }

        await Task.WhenAll(inflight);
        return (latencies, failures, clock.Elapsed.TotalSeconds);

        async Task SendTimedAsync(int index, TimeSpan dispatched)
        {
            await Task.Yield();
            var ok = await SendAsync(client, url, payload, cancellationToken);
            latencies[index] = (clock.Elapsed - dispatched).TotalMilliseconds;
            if (!ok)
            {
                Interlocked.Increment(ref failures);
            }
        }
    }

    private static async Task<bool> SendAsync(HttpClient client, Uri url, byte[] payload, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new("application/json");
        try
        {
            using var response = await client.PostAsync(url, content, cancellationToken);
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
