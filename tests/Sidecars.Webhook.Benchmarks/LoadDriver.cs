using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Sidecars.Webhook.Benchmarks;

internal sealed record LoadResult(string Name, int Sent, int Failed, double Seconds, double P50Ms, double P99Ms, double MaxMs)
{
    public double RequestsPerSecond => (Sent - Failed) / Seconds;
}

/// <summary>
/// Open-loop load at a fixed rate: requests leave on schedule whether or not earlier ones returned, and latency is
/// measured from the scheduled time, so a stalled server shows up in the tail instead of slowing the generator.
/// </summary>
internal static class LoadDriver
{
    public static async Task<LoadResult> RunAsync(string name, Uri url, string body, X509Certificate2 authority, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 256,
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

        // Warm up connections and JIT before measuring.
        for (var i = 0; i < 500; i++)
        {
            await SendAsync(client, url, payload, cancellationToken);
        }

        var total = (int)(rate * duration.TotalSeconds);
        var latencies = new double[total];
        var failures = 0;
        var inflight = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var scheduled = TimeSpan.FromSeconds((double)i / rate);
            var wait = scheduled - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }

            var index = i;
            inflight.Add(Task.Run(async () =>
            {
                var ok = await SendAsync(client, url, payload, cancellationToken);
                latencies[index] = (clock.Elapsed - scheduled).TotalMilliseconds;
                if (!ok)
                {
                    Interlocked.Increment(ref failures);
                }
            }, cancellationToken));
        }

        await Task.WhenAll(inflight);
        var seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new LoadResult(name, total, failures, seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1]);
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
