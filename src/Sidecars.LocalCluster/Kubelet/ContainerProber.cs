using System.Globalization;
using System.Net.Sockets;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>
/// Runs one probe (readiness or liveness) of one process container against the pod IP until stopped, and reports
/// each change of verdict after the probe's success/failure thresholds.
/// </summary>
internal sealed class ContainerProber : IDisposable
{
    private static readonly HttpClient Http = CreateHttpClient();

    private readonly V1Probe _probe;
    private readonly V1Container _container;
    private readonly string _podIp;
    private readonly TimeSpan? _maxPeriod;
    private readonly Action<bool> _onVerdict;
    private readonly CancellationTokenSource _stop = new();

    public ContainerProber(V1Probe probe, V1Container container, string podIp, TimeSpan? maxPeriod, bool initialVerdict, Action<bool> onVerdict)
    {
        _probe = probe;
        _container = container;
        _podIp = podIp;
        _maxPeriod = maxPeriod;
        _onVerdict = onVerdict;
        Verdict = initialVerdict;
        _ = RunAsync(_stop.Token);
    }

    public bool Verdict { get; private set; }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    /// <summary>The probe's port as a number: numeric, or a container port name.</summary>
    public static int ResolvePort(IntOrString port, V1Container container)
    {
        ArgumentNullException.ThrowIfNull(port);
        ArgumentNullException.ThrowIfNull(container);
        var value = port.Value;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        return container.Ports?.FirstOrDefault(p => string.Equals(p.Name, value, StringComparison.Ordinal))?.ContainerPort
            ?? throw new PodSetupException($"container {container.Name} has no port named {value}");
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var period = TimeSpan.FromSeconds(_probe.PeriodSeconds is > 0 ? _probe.PeriodSeconds.Value : 10);
        if (_maxPeriod is { } max && period > max)
        {
            period = max;
        }

        var successThreshold = _probe.SuccessThreshold is > 0 ? _probe.SuccessThreshold.Value : 1;
        var failureThreshold = _probe.FailureThreshold is > 0 ? _probe.FailureThreshold.Value : 3;
        var (successes, failures) = (0, 0);
        try
        {
            if (_probe.InitialDelaySeconds is > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(_probe.InitialDelaySeconds.Value), ct);
            }

            while (!ct.IsCancellationRequested)
            {
                var passed = await ProbeOnceAsync(ct);
                (successes, failures) = passed ? (successes + 1, 0) : (0, failures + 1);
                if (!Verdict && successes >= successThreshold)
                {
                    Verdict = true;
                    _onVerdict(true);
                }
                else if (Verdict && failures >= failureThreshold)
                {
                    Verdict = false;
                    _onVerdict(false);
                }

                await Task.Delay(period, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private async Task<bool> ProbeOnceAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(_probe.TimeoutSeconds is > 0 ? _probe.TimeoutSeconds.Value : 1));
        try
        {
            if (_probe.HttpGet is { } httpGet)
            {
                var scheme = string.Equals(httpGet.Scheme, "HTTPS", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
                var host = string.IsNullOrEmpty(httpGet.Host) ? _podIp : httpGet.Host;
                var path = string.IsNullOrEmpty(httpGet.Path) ? "/" : httpGet.Path;
                var uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://{host}:{ResolvePort(httpGet.Port, _container)}{(path.StartsWith('/') ? path : "/" + path)}"));
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.ConnectionClose = true;
                foreach (var header in httpGet.HttpHeaders ?? [])
                {
                    request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                }

                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                return (int)response.StatusCode is >= 200 and < 400;
            }

            if (_probe.TcpSocket is { } tcp)
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(string.IsNullOrEmpty(tcp.Host) ? _podIp : tcp.Host, ResolvePort(tcp.Port, _container), timeout.Token);
                return true;
            }

            // exec (and gRPC) probes cannot run inside a host process; they count as passing.
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or PodSetupException)
        {
            return false;
        }
    }

    private static HttpClient CreateHttpClient()
    {
#pragma warning disable CA2000, CA5359 // Shared for the process lifetime; kubelet HTTPS probes skip verification like a real kubelet.
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
#pragma warning restore CA2000, CA5359
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }
}
