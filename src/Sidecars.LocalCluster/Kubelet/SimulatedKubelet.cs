using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sidecars.LocalCluster;

/// <summary>
/// A kubelet without containers: registers a Node, keeps it Ready, and runs the pods bound to it. Containers whose
/// image a registered <see cref="IContainerRunner"/> matches run as local processes on a unique 127.x pod IP; the
/// others are simulated. One list+watch of the node's pods feeds one worker per pod.
/// </summary>
public sealed partial class SimulatedKubelet : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly SimulatedKubeletOptions _options;
    private readonly ILogger _logger;
    private readonly PodIpAllocator _addresses;
    private readonly KubeletContext _context;
    private readonly ConcurrentDictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly NodeAgent _node;
    private ImmutableArray<IContainerRunner> _runners;
    private int _disposed;

    /// <param name="client">Client the kubelet uses (not disposed by it).</param>
    public SimulatedKubelet(IKubernetes client, SimulatedKubeletOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<SimulatedKubelet>();
        PodRoot = options.PodRoot ?? Path.Combine(Path.GetTempPath(), "sidecars-pods-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        _runners = [.. options.Runners];
        _addresses = new PodIpAllocator(options.PodIpStartBlock ?? (byte)RandomNumberGenerator.GetInt32(2, 250));
        _context = new KubeletContext(client, options, _addresses, () => _runners, _logger);
        _node = new NodeAgent(client, options.NodeName, _logger);
    }

    public string NodeName => _options.NodeName;

    /// <summary>Directory holding one sub-directory per pod (<c>&lt;namespace&gt;_&lt;name&gt;_&lt;uid&gt;</c>).</summary>
    public string PodRoot { get; }

    /// <summary>Pod IPs currently handed out.</summary>
    public int AllocatedPodIpCount => _addresses.Count;

    /// <summary>Registers a runner for pods started from now on (first matching runner wins).</summary>
    public void AddRunner(IContainerRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ImmutableInterlocked.Update(ref _runners, list => list.Add(runner));
    }

    public async Task StartAsync(CancellationToken ct = default)
    {
        Directory.CreateDirectory(PodRoot);
        await _node.RegisterAsync(ct);
        var initialList = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loops.Add(_node.RunAsync(_options.HeartbeatInterval, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default));
        _loops.Add(WatchPodsAsync(initialList, _stop.Token));
        await initialList.Task.WaitAsync(ct);
    }

    /// <summary>The local directory of a pod: materialised volumes under <c>volumes/</c>, one <c>&lt;container&gt;.log</c> per process.</summary>
    public string PodDirectory(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return Path.Combine(PodRoot, $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{pod.Metadata.Uid}");
    }

    /// <summary>The file a process container's stdout and stderr go to.</summary>
    public string ContainerLogPath(V1Pod pod, string container) => Path.Combine(PodDirectory(pod), container + ".log");

    /// <summary>The directory of the pod this kubelet runs as <paramref name="ns"/>/<paramref name="name"/>, if any.</summary>
    public string? FindPodDirectory(string ns, string name) =>
        _workers.Values.FirstOrDefault(w => w.Namespace == ns && w.Name == name)?.PodDirectory;

    public bool IsPodIpAllocated(string podIp) => IPAddress.TryParse(podIp, out var address) && _addresses.IsAllocated(address);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_loops);
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(_workers.Values.Select(w => w.DisposeAsync().AsTask()));
        _workers.Clear();
        _stop.Dispose();
    }

    /// <summary>How long the apiserver is asked to keep a pod watch open.</summary>
    private const int WatchTimeoutSeconds = 60;

    /// <summary>Silence after which the pod watch is taken for stalled and the pods are listed again.</summary>
    private static readonly TimeSpan WatchStallLimit = TimeSpan.FromSeconds(WatchTimeoutSeconds + 30);

    private async Task WatchPodsAsync(TaskCompletionSource initialList, CancellationToken ct)
    {
        var fieldSelector = "spec.nodeName=" + _options.NodeName;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var list = await _client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: fieldSelector, cancellationToken: ct);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var pod in list.Items)
                {
                    seen.Add(pod.Metadata.Uid);
                    Dispatch(pod);
                }

                foreach (var uid in _workers.Keys.Where(uid => !seen.Contains(uid)).ToList())
                {
                    Remove(uid);
                }

                initialList.TrySetResult();
                var resourceVersion = list.Metadata.ResourceVersion;
                while (!ct.IsCancellationRequested)
                {
                    var relist = false;

                    // An overloaded apiserver can leave a watch open that never delivers again (not even its end):
                    // silence past the watch's own timeout means list again.
                    using var alive = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    alive.CancelAfter(WatchStallLimit);
                    var events = _client.CoreV1.WatchListPodForAllNamespacesAsync(
                        allowWatchBookmarks: true,
                        fieldSelector: fieldSelector,
                        resourceVersion: resourceVersion,
                        timeoutSeconds: WatchTimeoutSeconds,
                        onError: e =>
                        {
                            // An ERROR event (410 Gone: resourceVersion too old) or a broken stream: list again.
                            relist = true;
                            Log.WatchInterrupted(_logger, e.Message);
                        },
                        cancellationToken: alive.Token);
                    try
                    {
                        await foreach (var (type, pod) in events)
                        {
                            alive.CancelAfter(WatchStallLimit);
                            resourceVersion = pod.Metadata?.ResourceVersion ?? resourceVersion;
                            switch (type)
                            {
                                case WatchEventType.Added or WatchEventType.Modified:
                                    Dispatch(pod);
                                    break;
                                case WatchEventType.Deleted when pod.Metadata?.Uid is { } uid:
                                    Remove(uid);
                                    break;
                            }
                        }
                    }
                    catch (OperationCanceledException) when (alive.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        // Stalled: handled below.
                    }

                    if (alive.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        Log.WatchInterrupted(_logger, $"no event for {WatchStallLimit.TotalSeconds} s");
                        break;
                    }

                    if (relist)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException)
            {
                Log.WatchInterrupted(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private void Dispatch(V1Pod pod)
    {
        if (pod.Metadata?.Uid is not { } uid)
        {
            return;
        }

        var worker = _workers.GetOrAdd(uid, _ => new PodWorker(_context, pod, PodDirectory(pod)));
        worker.Update(pod);
    }

    private void Remove(string uid)
    {
        if (_workers.TryRemove(uid, out var worker))
        {
            worker.Remove();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Pod watch interrupted, resuming: {Reason}")]
        public static partial void WatchInterrupted(ILogger logger, string reason);
    }
}
