using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Sidecars.Webhook.Benchmarks;

internal sealed record LoadResult(string Name, int Sent, int Failed, double Seconds, double P50Ms, double P99Ms, double MaxMs, TimeSpan ServerCpu)
{
    public double RequestsPerSecond => (Sent - Failed) / Seconds;

    /// <summary>Server CPU time (user + system) spent per request during the measured phases.</summary>
    public double ServerCpuMicrosecondsPerRequest => ServerCpu.TotalMicroseconds / Sent;
}

/// <summary>How the load is offered: rate, measured time per round, rounds, warm-up at the same rate, connections, HTTP version.</summary>
internal sealed record LoadShape(int Rate, TimeSpan Round, int Rounds, TimeSpan WarmUp, int Connections, Version HttpVersion);

/// <summary>
/// Open-loop load at a fixed rate against one endpoint: requests leave on schedule whether or not earlier ones returned,
/// so a stalled server shows up in the tail (requests queue for a pooled connection) instead of slowing the generator.
/// Latency runs from the moment a request is handed to the client, which leaves the dispatch loop's own timer jitter
/// out of the figure. The pool is opened and the server warmed at the target rate before anything is measured, as a
/// kube-apiserver keeps its connections to a webhook open and a long-running server has finished its JIT tiering.
/// </summary>
internal sealed class LoadDriver : IDisposable
{
    private readonly Process _server;
    private readonly Uri _url;
    private readonly Uri? _metricsUrl;
    private readonly byte[] _payload;
    private readonly LoadShape _shape;
    private readonly HttpClient _client;
    private readonly List<double> _latencies = [];
    private int _failures;
    private double _seconds;
    private TimeSpan _serverCpu;

    /// <param name="metricsUrl">Scraped before the warm-up and before every round, as Prometheus would scrape a server in
    /// production (prometheus-net starts its adapters on the first scrape), or null for a server without metrics.</param>
    public LoadDriver(string name, Process server, Uri url, Uri? metricsUrl, string body, X509Certificate2 authority, LoadShape shape)
    {
        Name = name;
        _server = server;
        _url = url;
        _metricsUrl = metricsUrl;
        _payload = Encoding.UTF8.GetBytes(body);
        _shape = shape;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = shape.Connections,
            EnableMultipleHttp2Connections = true,
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
        _client = new HttpClient(handler)
        {
            Timeout = TimeSpan.FromSeconds(10),
            DefaultRequestVersion = shape.HttpVersion,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public string Name { get; }

    /// <summary>Opens every pooled connection, then offers the target rate for the warm-up time, unmeasured.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        for (var round = 0; round < 5; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, _shape.Connections).Select(_ => SendAsync(cancellationToken)));
        }

        await ScrapeAsync(cancellationToken);
        await OfferAsync(_shape.WarmUp, measure: false, cancellationToken);
    }

    /// <summary>One measured round; rounds of several endpoints interleave so drift on a shared machine hits them alike.</summary>
    public async Task MeasureRoundAsync(CancellationToken cancellationToken)
    {
        await ScrapeAsync(cancellationToken);
        _server.Refresh();
        var cpuBefore = _server.TotalProcessorTime;
        _seconds += await OfferAsync(_shape.Round, measure: true, cancellationToken);
        _server.Refresh();
        _serverCpu += _server.TotalProcessorTime - cpuBefore;
    }

    public LoadResult Result()
    {
        var latencies = _latencies.ToArray();
        Array.Sort(latencies);
        return new LoadResult(Name, latencies.Length, _failures, _seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], _serverCpu);
    }

    public void Dispose() => _client.Dispose();

    private async Task ScrapeAsync(CancellationToken cancellationToken)
    {
        if (_metricsUrl is null)
        {
            return;
        }

        var text = await _client.GetStringAsync(_metricsUrl, cancellationToken);
        if (!text.Contains("# TYPE", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{_metricsUrl} did not answer with Prometheus metrics");
        }
    }

    private async Task<double> OfferAsync(TimeSpan duration, bool measure, CancellationToken cancellationToken)
    {
        var total = Math.Max(1, (int)(_shape.Rate * duration.TotalSeconds));
        var latencies = new double[total];
        var failures = 0;
        var inflight = new Task[total];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var wait = TimeSpan.FromSeconds((double)i / _shape.Rate) - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }

            inflight[i] = SendTimedAsync(i, clock.Elapsed);
        }

        await Task.WhenAll(inflight);
        var seconds = clock.Elapsed.TotalSeconds;
        if (measure)
        {
            _latencies.AddRange(latencies);
            _failures += failures;
        }

        return seconds;

        async Task SendTimedAsync(int index, TimeSpan dispatched)
        {
            await Task.Yield();
            var ok = await SendAsync(cancellationToken);
            latencies[index] = (clock.Elapsed - dispatched).TotalMilliseconds;
            if (!ok)
            {
                Interlocked.Increment(ref failures);
            }
        }
    }

    private async Task<bool> SendAsync(CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(_payload);
        content.Headers.ContentType = new("application/json");
        try
        {
            using var response = await _client.PostAsync(_url, content, cancellationToken);
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
