using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Sidecars.Identity.Admin;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Identity;

namespace Sidecars.Testing.Hosts;

/// <summary>
/// The built cluster agent host (<see cref="BuiltHosts.ClusterAgent"/>) run as an OS process on one fixed HTTPS loopback
/// port, with its serving certificate from <see cref="TestPki"/> and its working directory kept across runs: it can be
/// killed with SIGKILL (<see cref="KillAsync"/>) and started again (<see cref="StartAsync"/>) at the same address with
/// the same state, as a rescheduled replica would be.
/// </summary>
public sealed class ClusterAgentProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly Dictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;
    private int _runs;

    /// <param name="pki">The serving certificate (for 127.0.0.1) and the admin CA.</param>
    /// <param name="workingDirectory">Kept across runs; the file store's default path is under it.</param>
    /// <param name="settings">More environment, e.g. <c>Sidecars__Identity__Store</c> or a kubeconfig.</param>
    public ClusterAgentProcess(TestPki pki, string workingDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(pki);
        WorkingDirectory = workingDirectory;
        Pki = pki;
        Directory.CreateDirectory(workingDirectory);
        var certificate = Path.Combine(workingDirectory, "server.pem");
        var key = Path.Combine(workingDirectory, "server-key.pem");
        File.WriteAllText(certificate, pki.ServerCertificate.ExportCertificatePem());
        File.WriteAllText(key, AdminCredentials.ExportPrivateKeyPem(pki.ServerCertificate));
        Address = string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{FreePort.Next()}");
        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["HOME"] = workingDirectory,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            // The certificate comes from files and the endpoint from Kestrel's configuration: a fixed port, so that
            // callers reconnect to the restarted process at the address they know.
            ["Sidecars__Serving__Enabled"] = "false",
            ["Kestrel__Endpoints__Grpc__Url"] = Address,
            ["Kestrel__Endpoints__Grpc__Protocols"] = "Http2",
            ["Kestrel__Endpoints__Grpc__Certificate__Path"] = certificate,
            ["Kestrel__Endpoints__Grpc__Certificate__KeyPath"] = key,
            ["Sidecars__Identity__AdminClientCaFile"] = pki.AdminCaPemPath,
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            _environment[name] = value;
        }
    }

    public string Address { get; }

    public TestPki Pki { get; }

    public string WorkingDirectory { get; }

    /// <summary>The running process's id, or null when none runs.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Every line the process wrote to stdout and stderr, over all runs, each run headed by a marker line.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>Starts the process and returns once it listens on <see cref="Address"/>.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        if (ProcessId is not null)
        {
            throw new InvalidOperationException("the cluster agent is already running");
        }

        var run = Interlocked.Increment(ref _runs);
        _log.Enqueue($"--- run {run} at {DateTimeOffset.UtcNow:O}");
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(BuiltHosts.ClusterAgent);
        foreach (var name in new[] { "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT" })
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in _environment)
        {
            info.Environment[name] = value;
        }

        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException($"the cluster agent exited while starting:\n{Log}"));
                return;
            }

            _log.Enqueue(e.Data);
            if (e.Data.Contains("Now listening on: " + Address, StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _log.Enqueue(e.Data);
            }
        };
        process.Start();
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await listening.Task.WaitAsync(StartTimeout, ct);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the cluster agent did not listen on {Address} within {StartTimeout}:\n{Log}");
        }
    }

    /// <summary>SIGKILL (kill -9): no shutdown code runs. Returns once the process has exited.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        _log.Enqueue($"--- killed at {DateTimeOffset.UtcNow:O}");
        process.Dispose();
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
