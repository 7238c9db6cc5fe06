using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sidecars.Kubernetes;

namespace Sidecars.LocalCluster;

/// <summary>
/// etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1 with free ports, plus a
/// <see cref="SimulatedKubelet"/>. Everything lives in one state directory removed on disposal.
/// </summary>
public sealed partial class LocalControlPlane : IAsyncDisposable
{
    public const string AdminUser = "admin";

    /// <summary>Component name of etcd (logs, <see cref="StopComponentAsync"/>).</summary>
    public const string EtcdComponent = "etcd";

    /// <summary>Component name of kube-apiserver (logs, <see cref="StopComponentAsync"/>).</summary>
    public const string ApiServerComponent = "kube-apiserver";

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly LocalControlPlaneOptions _options;
    private readonly ControlPlaneBinaries _binaries;
    private readonly ILogger _logger;
    private readonly TeeLoggerFactory _loggerFactory;
    private readonly CertificateAuthority _authority;
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _kubeconfigs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _logs = new(StringComparer.Ordinal);
    private readonly List<(string Name, LoggedProcess Process)> _components = [];
    private readonly Dictionary<string, (string Executable, string[] Args, Uri Health)> _restartable = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _restartGate = new(1, 1);
    private readonly string _etcdDataDirectory;
    private readonly HttpClient _health;
    private SimulatedKubelet? _kubelet;
    private k8s.Kubernetes? _kubeletClient;
    private k8s.Kubernetes? _heartbeatClient;
    private int _disposed;

    private LocalControlPlane(LocalControlPlaneOptions options, ControlPlaneBinaries binaries)
    {
        _options = options;
        _binaries = binaries;
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        StateDirectory = Path.Combine(options.StateRoot ?? Path.GetTempPath(), "sidecars-local-" + id);
        var ownLog = Path.Combine(StateDirectory, "logs", "kubelet.log");
        _logs["kubelet"] = ownLog;
#pragma warning disable CA2000 // Owned by the tee factory, disposed with the control plane.
        _loggerFactory = new TeeLoggerFactory(options.LoggerFactory, new FileLoggerProvider(ownLog, LogLevel.Debug));
#pragma warning restore CA2000
        _logger = _loggerFactory.CreateLogger<LocalControlPlane>();
        _etcdDataDirectory = options.EtcdOnTmpfs && Directory.Exists("/dev/shm")
            ? Path.Combine("/dev/shm", "sidecars-etcd-" + id)
            : Path.Combine(StateDirectory, "etcd");
        Directory.CreateDirectory(StateDirectory);
        if (!options.KeepStateDirectory)
        {
            ChildProcessRegistry.RegisterDirectory(StateDirectory);
        }

        ChildProcessRegistry.RegisterDirectory(_etcdDataDirectory);
        _authority = CertificateAuthority.Create("sidecars-local-ca", TimeSpan.FromDays(2));
        CaCertificatePem = _authority.CertificatePem;
        var ports = FreePorts.Take(5);
        (EtcdPort, _etcdPeerPort, ApiServerPort, _controllerManagerPort, _schedulerPort) = (ports[0], ports[1], ports[2], ports[3], ports[4]);
        ApiServerUrl = string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{ApiServerPort}");
#pragma warning disable CA2000 // The handler is owned by the client, disposed with the control plane.
        _health = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && _authority.Validates(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate)) },
        })
        { Timeout = TimeSpan.FromSeconds(5) };
#pragma warning restore CA2000
    }

    private readonly int _etcdPeerPort;
    private readonly int _controllerManagerPort;
    private readonly int _schedulerPort;

    public string ApiServerUrl { get; }

    public int ApiServerPort { get; }

    public int EtcdPort { get; }

    /// <summary>PEM of the CA that signed the apiserver's serving certificate (and <see cref="IssueServingCertificate"/>).</summary>
    public string CaCertificatePem { get; }

    /// <summary>
    /// Common name of the client certificate, issued by <see cref="CaCertificatePem"/>'s authority, that the apiserver
    /// presents to admission webhooks.
    /// </summary>
    public const string WebhookClientName = "kube-apiserver-webhook-client";

    /// <summary>PEM file of <see cref="CaCertificatePem"/>.</summary>
    public string CaCertificateFile => Path.Combine(StateDirectory, "pki", "ca.crt");

    /// <summary>Directory with certificates, kubeconfigs, component logs and pod directories.</summary>
    public string StateDirectory { get; }

    /// <summary>The admin user's kubeconfig.</summary>
    public string KubeconfigPath => KubeconfigFor(AdminUser);

    public IReadOnlyCollection<string> Users => _tokens.Keys;

    /// <summary>Component name (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet) → log file.</summary>
    public IReadOnlyDictionary<string, string> ComponentLogs => _logs;

    public SimulatedKubelet Kubelet => _kubelet ?? throw new InvalidOperationException("The control plane has not started.");

    public static async Task<LocalControlPlane> StartAsync(LocalControlPlaneOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var binaries = ControlPlaneBinaries.Locate(options);
        for (var attempt = 1; ; attempt++)
        {
            var plane = new LocalControlPlane(options, binaries);
            try
            {
                await plane.StartComponentsAsync(ct);
                return plane;
            }
            catch (ComponentStartException e) when (attempt < 3 && e.PortTaken)
            {
                // Another process took one of the free ports between choosing and binding it; choose again.
                await plane.DisposeAsync();
            }
            catch
            {
                await plane.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Registers a runner with the kubelet for pods started from now on.</summary>
    public void AddRunner(IContainerRunner runner) => Kubelet.AddRunner(runner);

    public string KubeconfigFor(string user) =>
        _kubeconfigs.TryGetValue(user, out var path)
            ? path
            : throw new ArgumentException($"Unknown user '{user}'; known users: {string.Join(", ", _tokens.Keys)}.", nameof(user));

    public string TokenFor(string user) =>
        _tokens.TryGetValue(user, out var token) ? token : throw new ArgumentException($"Unknown user '{user}'.", nameof(user));

    /// <summary>A client authenticated as <paramref name="user"/>; the caller disposes it.</summary>
    public k8s.Kubernetes CreateClient(string user = AdminUser) =>
        new(KubernetesClientConfig.Build(KubeconfigFor(user)));

    /// <summary>What kube-apiserver records about one admission webhook's pod creates, read from its /metrics.</summary>
    public async Task<WebhookAdmissionMetrics> ReadWebhookAdmissionMetricsAsync(string webhookName, CancellationToken ct = default) =>
        WebhookAdmissionMetrics.Parse(await KubectlAsync(["get", "--raw", "/metrics"], ct: ct), webhookName);

    /// <summary>A serving certificate for loopback hosts signed by the control plane's CA (for webhooks under test).</summary>
    public PemKeyPair IssueServingCertificate(params string[] hosts) =>
        _authority.Issue(hosts.Length > 0 ? hosts[0] : "localhost", hosts.Length > 0 ? hosts : ["127.0.0.1", "localhost"], TimeSpan.FromDays(1));

    /// <summary>Runs kubectl as <paramref name="user"/>; returns stdout, throws <see cref="KubectlException"/> on failure.</summary>
    public async Task<string> KubectlAsync(string[] args, string user = AdminUser, string? stdin = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var startInfo = new ProcessStartInfo(_binaries.Kubectl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("--kubeconfig=" + KubeconfigFor(user));
        foreach (var argument in args)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start kubectl.");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin.AsMemory(), ct);
        }

        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout;
        var error = await stderr;
        return process.ExitCode == 0 ? output : throw new KubectlException(args, process.ExitCode, output, error);
    }

    /// <summary>
    /// Creates a namespace and waits until its <c>default</c> ServiceAccount exists with its token Secret (pods are
    /// rejected until then).
    /// </summary>
    public async Task<V1Namespace> CreateNamespaceAsync(string name, IDictionary<string, string>? labels = null, CancellationToken ct = default)
    {
        using var client = CreateClient();
        var created = await client.CoreV1.CreateNamespaceAsync(
            new V1Namespace { Metadata = new V1ObjectMeta { Name = name, Labels = labels } }, cancellationToken: ct);
        await WaitForDefaultServiceAccountAsync(client, name, ct);
        return created;
    }

    /// <summary>The last <paramref name="lines"/> lines of a component's log.</summary>
    public string LogTail(string component, int lines = 40) =>
        _logs.TryGetValue(component, out var path) ? ReadTail(path, lines) : string.Empty;

    /// <summary>
    /// Stops etcd or kube-apiserver (<see cref="EtcdComponent"/>, <see cref="ApiServerComponent"/>): SIGTERM with a
    /// grace period, or SIGKILL when <paramref name="kill"/>. Everything else keeps running and sees the outage as a
    /// cluster would. <see cref="StartStoppedComponentAsync"/> brings it back on the same port and data.
    /// </summary>
    public async Task StopComponentAsync(string component, bool kill = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(component);
        if (!_restartable.ContainsKey(component))
        {
            throw new ArgumentException($"'{component}' cannot be stopped and started; these can: {string.Join(", ", _restartable.Keys)}.", nameof(component));
        }

        await _restartGate.WaitAsync(ct);
        try
        {
            var index = _components.FindIndex(c => c.Name == component);
            var process = _components[index].Process;
            if (kill)
            {
                process.Kill();
                await process.Exited;
            }
            else
            {
                await process.StopAsync(StopGrace);
            }

            Log.ComponentStopped(_logger, component, process.Id);
        }
        finally
        {
            _restartGate.Release();
        }
    }

    /// <summary>Starts a component stopped by <see cref="StopComponentAsync"/> again, as before; returns once it is healthy.</summary>
    public async Task StartStoppedComponentAsync(string component, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(component);
        await _restartGate.WaitAsync(ct);
        try
        {
            var index = _components.FindIndex(c => c.Name == component);
            if (index < 0 || !_restartable.TryGetValue(component, out var spec))
            {
                throw new ArgumentException($"'{component}' cannot be started again; these can: {string.Join(", ", _restartable.Keys)}.", nameof(component));
            }

            var old = _components[index].Process;
            if (!old.HasExited)
            {
                throw new InvalidOperationException($"{component} is running");
            }

            await old.DisposeAsync();
            _components.RemoveAt(index);
            var process = StartComponent(component, spec.Executable, spec.Args);

            // Keep the start order, so that disposal still stops the apiserver before etcd.
            _components.RemoveAt(_components.Count - 1);
            _components.Insert(index, (component, process));
            await WaitHealthyAsync(component, process, spec.Health, ct);
        }
        finally
        {
            _restartGate.Release();
        }
    }

    /// <summary>
    /// Compacts etcd's history up to its current revision (what kube-apiserver's periodic compaction does), so that a
    /// watch resumed from any earlier resourceVersion is answered 410 Gone. Returns the revision compacted to.
    /// </summary>
    public async Task<long> CompactEtcdAsync(CancellationToken ct = default)
    {
        // etcd's JSON gateway: a range read answers the current revision in its header.
        using var range = await _health.PostAsync(
            new Uri($"http://127.0.0.1:{EtcdPort}/v3/kv/range"), new StringContent("{\"key\":\"AA==\"}", Encoding.UTF8, "application/json"), ct);
        range.EnsureSuccessStatusCode();
        using var header = System.Text.Json.JsonDocument.Parse(await range.Content.ReadAsStringAsync(ct));
        var revision = long.Parse(header.RootElement.GetProperty("header").GetProperty("revision").GetString()!, CultureInfo.InvariantCulture);
        using var compaction = await _health.PostAsync(
            new Uri($"http://127.0.0.1:{EtcdPort}/v3/kv/compaction"),
            new StringContent(string.Create(CultureInfo.InvariantCulture, $"{{\"revision\":\"{revision}\",\"physical\":true}}"), Encoding.UTF8, "application/json"),
            ct);
        if (!compaction.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"etcd refused to compact to revision {revision}: {(int)compaction.StatusCode} {await compaction.Content.ReadAsStringAsync(ct)}");
        }

        Log.Compacted(_logger, revision);
        return revision;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_kubelet is not null)
        {
            await _kubelet.DisposeAsync();
        }

        _kubeletClient?.Dispose();
        _heartbeatClient?.Dispose();

        for (var i = _components.Count - 1; i >= 0; i--)
        {
            await _components[i].Process.StopAsync(StopGrace);
            await _components[i].Process.DisposeAsync();
        }

        _health.Dispose();
        _restartGate.Dispose();
        _authority.Dispose();
        _loggerFactory.Dispose();
        if (!_options.KeepStateDirectory)
        {
            TryDelete(StateDirectory);
            ChildProcessRegistry.UnregisterDirectory(StateDirectory);
        }

        TryDelete(_etcdDataDirectory);
        ChildProcessRegistry.UnregisterDirectory(_etcdDataDirectory);
    }

    private async Task StartComponentsAsync(CancellationToken ct)
    {
        var files = WriteFiles();
        Log.Starting(_logger, StateDirectory, ApiServerUrl);

        await StartComponentAsync(EtcdComponent, _binaries.Etcd, EtcdArgs(), new Uri($"http://127.0.0.1:{EtcdPort}/health"), ct);
        await StartComponentAsync(ApiServerComponent, _binaries.ApiServer, ApiServerArgs(files), new Uri(ApiServerUrl + "/readyz"), ct);
        var controllerManager = StartComponent("kube-controller-manager", _binaries.ControllerManager, ControllerManagerArgs(files));
        var scheduler = StartComponent("kube-scheduler", _binaries.Scheduler, SchedulerArgs(files));
        await Task.WhenAll(
            WaitHealthyAsync("kube-controller-manager", controllerManager, new Uri($"https://127.0.0.1:{_controllerManagerPort}/healthz"), ct),
            WaitHealthyAsync("kube-scheduler", scheduler, new Uri($"https://127.0.0.1:{_schedulerPort}/healthz"), ct));

        var kubeletOptions = _options.Kubelet;
        kubeletOptions.PodRoot ??= Path.Combine(StateDirectory, "pods");
        foreach (var runner in _options.Runners)
        {
            kubeletOptions.Runners.Add(runner);
        }

        _kubeletClient = CreateClient();
        _heartbeatClient = CreateClient();
        _kubelet = new SimulatedKubelet(_kubeletClient, kubeletOptions, _loggerFactory, _heartbeatClient);
        await _kubelet.StartAsync(ct);
        using var client = CreateClient();
        await WaitForDefaultServiceAccountAsync(client, "default", ct);
        Log.Started(_logger, ApiServerUrl);
    }

    private sealed record StateFiles(string Ca, string CaKey, string Serving, string ServingKey, string SaKey, string SaPublic, string Tokens, string Admin, string Admission);

    private StateFiles WriteFiles()
    {
        var pki = Directory.CreateDirectory(Path.Combine(StateDirectory, "pki")).FullName;
        string Write(string name, string content)
        {
            var path = Path.Combine(pki, name);
            File.WriteAllText(path, content);
            return path;
        }

        var serving = _authority.Issue("kube-apiserver",
            ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.0.0.1"],
            TimeSpan.FromDays(1));
        var (saKey, saPublic) = ServiceAccountKeys.Create();

        var tokenLines = new StringBuilder();
        foreach (var user in _options.Users.Prepend(AdminUser).Distinct(StringComparer.Ordinal))
        {
            var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            _tokens[user] = token;
            tokenLines.Append(CultureInfo.InvariantCulture, $"{token},{user},{user},\"system:masters\"\n");
            var kubeconfig = Path.Combine(StateDirectory, "kubeconfig-" + user);
            File.WriteAllText(kubeconfig, Kubeconfig.Render(ApiServerUrl, CaCertificatePem, user, token));
            _kubeconfigs[user] = kubeconfig;
        }

        // The apiserver presents this client certificate to every admission webhook it calls ('*' matches any host).
        var webhookClient = _authority.Issue(WebhookClientName, [WebhookClientName], TimeSpan.FromDays(1));
        var webhookClientKubeconfig = Write("admission-kubeconfig", $"""
            apiVersion: v1
            kind: Config
            users:
            - name: '*'
              user:
                client-certificate: {Write("webhook-client.crt", webhookClient.CertificatePem)}
                client-key: {Write("webhook-client.key", webhookClient.PrivateKeyPem)}
            """);
        var admission = Write("admission.yaml", $"""
            apiVersion: apiserver.config.k8s.io/v1
            kind: AdmissionConfiguration
            plugins:
            - name: MutatingAdmissionWebhook
              configuration:
                apiVersion: apiserver.config.k8s.io/v1
                kind: WebhookAdmissionConfiguration
                kubeConfigFile: {webhookClientKubeconfig}
            - name: ValidatingAdmissionWebhook
              configuration:
                apiVersion: apiserver.config.k8s.io/v1
                kind: WebhookAdmissionConfiguration
                kubeConfigFile: {webhookClientKubeconfig}
            """);

        return new StateFiles(
            Write("ca.crt", _authority.CertificatePem),
            Write("ca.key", _authority.PrivateKeyPem),
            Write("apiserver.crt", serving.CertificatePem),
            Write("apiserver.key", serving.PrivateKeyPem),
            Write("sa.key", saKey),
            Write("sa.pub", saPublic),
            Write("tokens.csv", tokenLines.ToString()),
            _kubeconfigs[AdminUser],
            admission);
    }

    private string[] EtcdArgs() =>
    [
        "--name=local",
        "--data-dir=" + _etcdDataDirectory,
        $"--listen-client-urls=http://127.0.0.1:{EtcdPort}",
        $"--advertise-client-urls=http://127.0.0.1:{EtcdPort}",
        $"--listen-peer-urls=http://127.0.0.1:{_etcdPeerPort}",
        $"--initial-advertise-peer-urls=http://127.0.0.1:{_etcdPeerPort}",
        $"--initial-cluster=local=http://127.0.0.1:{_etcdPeerPort}",
        "--initial-cluster-state=new",
        "--log-level=warn",
    ];

    private string[] ApiServerArgs(StateFiles files) =>
    [
        $"--etcd-servers=http://127.0.0.1:{EtcdPort}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        $"--secure-port={ApiServerPort}",
        "--insecure-port=0",
        "--cert-dir=" + Path.Combine(StateDirectory, "apiserver-certs"),
        "--tls-cert-file=" + files.Serving,
        "--tls-private-key-file=" + files.ServingKey,
        "--client-ca-file=" + files.Ca,
        "--token-auth-file=" + files.Tokens,
        "--admission-control-config-file=" + files.Admission,
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
        "--service-account-key-file=" + files.SaPublic,
        "--service-account-signing-key-file=" + files.SaKey,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--profiling=false",
        "--max-requests-inflight=1000",
        "--max-mutating-requests-inflight=500",
        .. _options.ExtraApiServerArgs,
    ];

    private string[] ControllerManagerArgs(StateFiles files) =>
    [
        "--kubeconfig=" + files.Admin,
        "--authentication-kubeconfig=" + files.Admin,
        "--authorization-kubeconfig=" + files.Admin,
        "--bind-address=127.0.0.1",
        $"--secure-port={_controllerManagerPort}",
        "--port=0",
        "--cert-dir=" + Path.Combine(StateDirectory, "controller-manager-certs"),
        "--tls-cert-file=" + files.Serving,
        "--tls-private-key-file=" + files.ServingKey,
        "--leader-elect=false",
        "--controllers=*",
        "--use-service-account-credentials=true",
        "--service-account-private-key-file=" + files.SaKey,
        "--root-ca-file=" + files.Ca,
        "--cluster-signing-cert-file=" + files.Ca,
        "--cluster-signing-key-file=" + files.CaKey,
        "--kube-api-qps=100",
        "--kube-api-burst=200",
        "--profiling=false",
    ];

    private string[] SchedulerArgs(StateFiles files) =>
    [
        "--kubeconfig=" + files.Admin,
        "--authentication-kubeconfig=" + files.Admin,
        "--authorization-kubeconfig=" + files.Admin,
        "--bind-address=127.0.0.1",
        $"--secure-port={_schedulerPort}",
        "--port=0",
        "--cert-dir=" + Path.Combine(StateDirectory, "scheduler-certs"),
        "--tls-cert-file=" + files.Serving,
        "--tls-private-key-file=" + files.ServingKey,
        "--leader-elect=false",
        "--kube-api-qps=100",
        "--kube-api-burst=200",
        "--profiling=false",
    ];

    private LoggedProcess StartComponent(string name, string executable, IEnumerable<string> args)
    {
        var startInfo = new ProcessStartInfo(executable) { WorkingDirectory = StateDirectory };
        foreach (var argument in args)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var logPath = Path.Combine(StateDirectory, "logs", name + ".log");
        _logs[name] = logPath;
        var process = LoggedProcess.Start(startInfo, logPath);
        _components.Add((name, process));
        Log.ComponentStarted(_logger, name, process.Id, logPath);
        return process;
    }

    private Task StartComponentAsync(string name, string executable, string[] args, Uri health, CancellationToken ct)
    {
        _restartable[name] = (executable, args, health);
        return WaitHealthyAsync(name, StartComponent(name, executable, args), health, ct);
    }

    private async Task WaitHealthyAsync(string name, LoggedProcess process, Uri health, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        var lastProblem = "no answer yet";
        while (deadline.Elapsed < _options.StartupTimeout)
        {
            if (process.HasExited)
            {
                var tail = ReadTail(process.LogPath, 40);
                throw new ComponentStartException(
                    $"{name} exited with code {await process.Exited} while starting. Log {process.LogPath} ends with:\n{tail}",
                    portTaken: tail.Contains("address already in use", StringComparison.OrdinalIgnoreCase));
            }

            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, health);
                if (health.Port == ApiServerPort)
                {
                    request.Headers.Authorization = new("Bearer", _tokens[AdminUser]);
                }

                using var response = await _health.SendAsync(request, ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Log.ComponentReady(_logger, name, deadline.Elapsed.TotalSeconds);
                    return;
                }

                lastProblem = $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}";
            }
            catch (HttpRequestException e)
            {
                lastProblem = e.Message;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                lastProblem = "health request timed out";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
        }

        throw new TimeoutException(
            $"{name} was not ready at {health} within {_options.StartupTimeout.TotalSeconds:0}s (last: {lastProblem}). " +
            $"Log {process.LogPath} ends with:\n{ReadTail(process.LogPath, 40)}");
    }

    private async Task WaitForDefaultServiceAccountAsync(k8s.Kubernetes client, string ns, CancellationToken ct)
    {
        // In 1.20 the ServiceAccount admission plugin rejects pods until the account exists *and* the tokens controller
        // has attached its token Secret. Both follow namespace creation within moments; one GET per short retry.
        var deadline = Stopwatch.StartNew();
        var seen = "not found";
        while (true)
        {
            try
            {
                var account = await client.CoreV1.ReadNamespacedServiceAccountAsync("default", ns, cancellationToken: ct);
                if (account.Secrets is { Count: > 0 })
                {
                    return;
                }

                seen = "exists without its token Secret";
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                seen = "not found";
            }

            if (deadline.Elapsed > _options.StartupTimeout)
            {
                throw new TimeoutException(
                    $"ServiceAccount {ns}/default not usable within {_options.StartupTimeout.TotalSeconds:0}s ({seen}). " +
                    $"kube-controller-manager log ends with:\n{LogTail("kube-controller-manager")}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }

    private static string ReadTail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(0, stream.Length - (lines * 400));
            stream.Seek(start, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(log unreadable: {e.Message})";
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A process still writing; the temp directory is cleaned up by the OS eventually.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
