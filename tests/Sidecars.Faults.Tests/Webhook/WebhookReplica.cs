using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Faults.Tests.Webhook;

/// <summary>
/// One replica of the built webhook host (<see cref="BuiltHosts.Webhook"/>) as an OS process on fixed loopback ports
/// (HTTPS for reviews, HTTP for metrics): stopped as a rolling update stops a pod (SIGTERM, then it drains and exits)
/// and started again at the same address.
/// </summary>
internal sealed class WebhookReplica : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly IReadOnlyList<string> _arguments;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly HttpClient _http;
    private Process? _process;
    private int _runs;

    /// <param name="settings">Configuration as <c>--key=value</c> arguments (ports and address are added here).</param>
    public WebhookReplica(string name, X509Certificate2 authority, IReadOnlyDictionary<string, string> settings)
    {
        Name = name;
        Port = FreePort.Next();
        MetricsPort = FreePort.Next();
        var arguments = new List<string>
        {
            BuiltHosts.Webhook, "--Sidecars:Webhook:Address=127.0.0.1",
            $"--Sidecars:Webhook:Port={Port}", $"--Sidecars:Webhook:MetricsPort={MetricsPort}",
            $"--Sidecars:Leadership:Identity={name}",
        };
        arguments.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        _arguments = arguments;
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(authority);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return presented is X509Certificate2 certificate && chain.Build(certificate);
                },
            },
        };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public string Name { get; }

    public int Port { get; }

    public int MetricsPort { get; }

    public bool Running => _process is { HasExited: false };

    /// <summary>Every line the process wrote, over all runs, each run headed by a marker line.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>Starts the process and returns once it answers /readyz on its HTTPS port.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (Running)
        {
            throw new InvalidOperationException($"webhook replica {Name} is already running");
        }

        _log.Enqueue($"--- run {Interlocked.Increment(ref _runs)} at {DateTimeOffset.UtcNow:O}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in new[] { "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT" })
        {
            info.Environment.Remove(name);
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        process.Start();
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Eventually.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"webhook replica {Name} exited while starting:\n{Log}");
            }

            try
            {
                using var ready = await _http.GetAsync(new Uri($"https://127.0.0.1:{Port}/readyz"), ct);
                return ready.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, $"webhook replica {Name} answers /readyz", StartTimeout, ct);
    }

    /// <summary>SIGTERM, as the kubelet stops a pod; returns the exit code once the process has exited.</summary>
    public async Task<int> TerminateAsync(TimeSpan bound)
    {
        var process = _process ?? throw new InvalidOperationException($"webhook replica {Name} is not running");
        await LightpeerWorkloads.SignalAsync(process.Id, "TERM");
        try
        {
            await process.WaitForExitAsync().WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"webhook replica {Name} did not exit within {bound} of SIGTERM:\n{Log}");
        }

        _log.Enqueue($"--- exited {process.ExitCode} at {DateTimeOffset.UtcNow:O}");
        _process = null;
        var code = process.ExitCode;
        process.Dispose();
        return code;
    }

    /// <summary>One metric's value from /metrics (the sum over its label sets), or null when it is not exported.</summary>
    public async Task<double?> MetricAsync(string metric, CancellationToken ct)
    {
        var text = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{MetricsPort}/metrics"), ct);
        var values = text.Split('\n')
            .Where(l => l.StartsWith(metric + " ", StringComparison.Ordinal) || l.StartsWith(metric + "{", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture))
            .ToList();
        return values.Count == 0 ? null : values.Sum();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }

        _http.Dispose();
    }
}
