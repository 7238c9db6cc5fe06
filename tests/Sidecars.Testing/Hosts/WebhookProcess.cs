using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Identity.Admin;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Identity;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Testing.Hosts;

/// <summary>
/// The built webhook host (<see cref="BuiltHosts.Webhook"/>) as an OS process on fixed loopback ports (HTTPS for
/// reviews, HTTP for metrics), as a replica runs in its pod: stopped as a rolling update stops a pod (SIGTERM, then it
/// drains and exits) and started again at the same address.
/// </summary>
public sealed class WebhookProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly IReadOnlyList<string> _arguments;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly HttpClient _http;
    private Process? _process;
    private int _runs;

    /// <param name="authority">The authority the serving certificate chains to (the client trusts only it).</param>
    /// <param name="settings">Configuration as <c>--key=value</c> arguments (ports, address and identity are added here).</param>
    public WebhookProcess(string name, X509Certificate2 authority, IReadOnlyDictionary<string, string> settings)
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
        _http = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name { get; }

    public int Port { get; }

    public int MetricsPort { get; }

    public bool Running => _process is { HasExited: false };

    /// <summary>A client of the HTTPS port (base address set) that trusts only the serving authority.</summary>
    public HttpClient Client => _http;

    /// <summary>The running process's id.</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException($"webhook {Name} is not running");

    /// <summary>Settings every webhook process started for a test carries: a local registry, no cluster agent, Warning logs.</summary>
    public static IReadOnlyDictionary<string, string> TestSettings(string certificateFile, string keyFile) => new Dictionary<string, string>
    {
        ["Sidecars:Webhook:CertificateFile"] = certificateFile,
        ["Sidecars:Webhook:KeyFile"] = keyFile,
        ["Sidecars:Injection:Registry"] = "registry.test/team",
        ["Sidecars:Injection:ImagePullSecret"] = "regcred",
        ["Sidecars:Injection:ClusterAgentAddress"] = "http://127.0.0.1:1",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    /// <summary>Writes the PKI's server certificate and key as PEM files for <see cref="TestSettings"/>.</summary>
    public static async Task<(string Certificate, string Key)> WriteServingCertificateAsync(TestPki pki, TempDirectory directory, CancellationToken ct)
    {
        var certificate = directory.File("webhook.crt");
        var key = directory.File("webhook.key");
        await File.WriteAllTextAsync(certificate, pki.ServerCertificate.ExportCertificatePem(), ct);
        await File.WriteAllTextAsync(key, AdminCredentials.ExportPrivateKeyPem(pki.ServerCertificate), ct);
        return (certificate, key);
    }

    /// <summary>Resident set and its high-water mark (VmRSS, VmHWM from /proc), in MiB.</summary>
    public (double Resident, double HighWater) Memory()
    {
        var status = File.ReadAllLines($"/proc/{Pid}/status");
        double Read(string field) => double.Parse(status.Single(l => l.StartsWith(field + ":", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        return (Read("VmRSS"), Read("VmHWM"));
    }

    /// <summary>Every line the process wrote, over all runs, each run headed by a marker line.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>Starts the process and returns once it answers /readyz on its HTTPS port.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (Running)
        {
            throw new InvalidOperationException($"webhook {Name} is already running");
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
                throw new InvalidOperationException($"webhook {Name} exited while starting:\n{Log}");
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
        }, $"webhook {Name} answers /readyz", StartTimeout, ct);
    }

    /// <summary>SIGTERM, as the kubelet stops a pod; returns the exit code once the process has exited.</summary>
    public async Task<int> TerminateAsync(TimeSpan bound)
    {
        var process = _process ?? throw new InvalidOperationException($"webhook {Name} is not running");
        await LightpeerWorkloads.SignalAsync(process.Id, "TERM");
        try
        {
            await process.WaitForExitAsync().WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"webhook {Name} did not exit within {bound} of SIGTERM:\n{Log}");
        }

        _log.Enqueue($"--- exited {process.ExitCode} at {DateTimeOffset.UtcNow:O}");
        _process = null;
        var code = process.ExitCode;
        process.Dispose();
        return code;
    }

    /// <summary>
    /// One metric's value from /metrics (the sum over its label sets, only those containing <paramref name="labels"/>
    /// when given), or null when it is not exported.
    /// </summary>
    public async Task<double?> MetricAsync(string metric, CancellationToken ct, string? labels = null)
    {
        var text = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{MetricsPort}/metrics"), ct);
        var values = text.Split('\n')
            .Where(l => l.StartsWith(metric + " ", StringComparison.Ordinal) || l.StartsWith(metric + "{", StringComparison.Ordinal))
            .Where(l => labels is null || l.Contains(labels, StringComparison.Ordinal))
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
