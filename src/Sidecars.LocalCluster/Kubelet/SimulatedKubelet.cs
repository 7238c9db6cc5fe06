using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sidecars.Kubernetes;

namespace Sidecars.LocalCluster;

/// <summary>
/// A kubelet without containers: registers a Node, keeps it Ready, and runs the pods bound to it. Containers whose
/// image a registered <see cref="IContainerRunner"/> matches run as local processes on a unique 127.x pod IP; the
/// others are simulated. One informer of the node's pods feeds one worker per pod.
/// </summary>
public sealed class SimulatedKubelet : IAsyncDisposable
{
    /// <summary>
    /// The node's pod watch ends on the server after this long and is taken for stalled after
    /// <see cref="PodWatchStallLimit"/> of silence. One node here may receive hundreds of pods at once; kube-apiserver
    /// closes a node's watcher that falls ten events behind, and on a loaded machine the end of that stream has
    /// reached the client seconds late or not at all, so a long watch would leave new pods unstarted for minutes.
    /// </summary>
    public static readonly TimeSpan PodWatchTimeout = TimeSpan.FromSeconds(30);

    /// <summary>See <see cref="PodWatchTimeout"/>.</summary>
    public static readonly TimeSpan PodWatchStallLimit = TimeSpan.FromSeconds(40);

    /// <summary>
    /// How long after a heartbeat found the node declared not Ready its pods write their status again whenever the
    /// stored one lost what they wrote: kube-controller-manager marks the node's pods not Ready one by one, some after
    /// the node's next heartbeat.
    /// </summary>
    private static readonly TimeSpan RecoveryWindow = TimeSpan.FromMinutes(2);

    private readonly SimulatedKubeletOptions _options;
    private readonly ILogger _logger;
    private readonly PodIpAllocator _addresses;
    private readonly KubeletContext _context;
    private readonly ConcurrentDictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly NodeAgent _node;
    private readonly ResourceInformer<V1Pod> _pods;
    private IDisposable? _subscription;
    private ImmutableArray<IContainerRunner> _runners;
    private int _disposed;

    /// <param name="client">Client the kubelet uses (not disposed by it).</param>
    /// <param name="heartbeatClient">
    /// Client of the node's heartbeats, on a connection of its own as a real kubelet's, so that a node running
    /// hundreds of pods at once still renews its lease in time; <paramref name="client"/> when null (not disposed by it).
    /// </param>
    public SimulatedKubelet(IKubernetes client, SimulatedKubeletOptions options, ILoggerFactory? loggerFactory = null, IKubernetes? heartbeatClient = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<SimulatedKubelet>();
        PodRoot = options.PodRoot ?? Path.Combine(Path.GetTempPath(), "sidecars-pods-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        _runners = [.. options.Runners];
        _addresses = new PodIpAllocator(options.PodIpStartBlock ?? (byte)RandomNumberGenerator.GetInt32(2, 250));
        _node = new NodeAgent(heartbeatClient ?? client, options.NodeName, _logger, OnNodeRecovered);
        _context = new KubeletContext(client, options, _addresses, () => _runners, _logger, () => _node.RecoveredWithin(RecoveryWindow));
        _pods = new ResourceInformer<V1Pod>(
            KubernetesResourceSources.Pods(KubernetesConnection.Of(client), null, null, "spec.nodeName=" + options.NodeName, PodWatchTimeout),
            _logger,
            PodWatchStallLimit);
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
        _loops.Add(_node.RunAsync(_options.HeartbeatInterval, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default));
        _subscription = _pods.Subscribe(OnPodEvent);
        await _pods.WaitForSyncAsync(ct);
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

        _subscription?.Dispose();
        await _pods.DisposeAsync();
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

    /// <summary>Runs what the informer of the node's pods reports; called on the informer's loop, so it only posts.</summary>
    private void OnPodEvent(ResourceEvent<V1Pod> change)
    {
        var (stop, run) = PodEventPlan.For(change);
        Remove(stop);
        if (run is not null)
        {
            Dispatch(run);
        }
    }

    private void OnNodeRecovered()
    {
        foreach (var worker in _workers.Values)
        {
            worker.ReportStatusAgain();
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

    private void Remove(string? uid)
    {
        if (uid is not null && _workers.TryRemove(uid, out var worker))
        {
            worker.Remove();
        }
    }
}
