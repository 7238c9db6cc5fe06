using System.Net;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>
/// Drives one pod through its life on the simulated node. Every change (a new version of the pod from the watch, a
/// process exit, a probe verdict, a timer) is posted to one loop, so state needs no locks; after each burst of work
/// the status is patched if, and only if, it changed.
/// </summary>
internal sealed partial class PodWorker : IAsyncDisposable
{
    private static readonly TimeSpan VirtualRunTime = TimeSpan.FromMilliseconds(200);

    private readonly KubeletContext _context;
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _lifetime = new();
    private readonly PodConditionTracker _conditions = new();
    private readonly List<ContainerRuntime> _initContainers = [];
    private readonly List<ContainerRuntime> _containers = [];
    private readonly Task _loop;
    private V1Pod _pod;
    private IPAddress? _ip;
    private Dictionary<string, string>? _volumes;
    private ProjectedTokens? _tokens;
    private DateTime _startTime;
    private int _nextInit;
    private int _setupAttempts;
    private bool _started;
    private bool _appsStarted;
    private bool _initFailed;
    private bool _terminating;
    private bool _done;
    private string? _lastStatus;
    private V1PodStatus? _lastWritten;
    private ulong _lastWrittenVersion;

    public PodWorker(KubeletContext context, V1Pod pod, string podDirectory)
    {
        _context = context;
        _pod = pod;
        PodDirectory = podDirectory;
        _loop = RunAsync(_lifetime.Token);
    }

    public string PodDirectory { get; }

    public string Namespace => _pod.Metadata.NamespaceProperty;

    public string Name => _pod.Metadata.Name;

    public string? PodIp => _ip?.ToString();

    public void Update(V1Pod pod) => Post(() => OnPodChangedAsync(pod));

    /// <summary>The node was declared not Ready and its pods marked so: the next sync writes this pod's status again.</summary>
    public void ReportStatusAgain() => Post(() =>
    {
        _lastStatus = null;
        return Task.CompletedTask;
    });

    /// <summary>The pod is gone from the API: stop its processes and release its address.</summary>
    public void Remove() => Post(OnGoneAsync);

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync();
        _work.Writer.TryComplete();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        await KillAllAsync(TimeSpan.Zero);
        ReleaseAddress();
        _lifetime.Dispose();
    }

    private void Post(Func<Task> work) => _work.Writer.TryWrite(work);

    private void PostAfter(TimeSpan delay, Func<Task> work) =>
        _ = Task.Delay(delay, _lifetime.Token).ContinueWith(
            _ => Post(work), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

    private async Task RunAsync(CancellationToken ct)
    {
        await Task.Yield();
        var reader = _work.Reader;
        while (!_done && await reader.WaitToReadAsync(ct))
        {
            while (!_done && reader.TryRead(out var work))
            {
                try
                {
                    await work();
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    Log.WorkFailed(_context.Logger, Namespace, Name, e);
                }
            }

            if (!_done)
            {
                try
                {
                    await SyncStatusAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // The worker outlives any one failed call: a dead loop would leave the pod unserved (and, once
                    // deleted, terminating forever).
                    Log.WorkFailed(_context.Logger, Namespace, Name, e);
                    PostAfter(TimeSpan.FromSeconds(1), () => Task.CompletedTask);
                }
            }
        }
    }

    private async Task OnPodChangedAsync(V1Pod pod)
    {
        _pod = pod;
        if (_lastWritten is not null && _context.NodeRecovering() && IsNewerThanLastWrite(pod) && PodStatusBuilder.Diverges(pod.Status, _lastWritten))
        {
            // The node lifecycle controller changed what this kubelet reported: the next sync writes it again.
            _lastStatus = null;
        }

        if (pod.Metadata.DeletionTimestamp is not null)
        {
            if (!_terminating)
            {
                await TerminateAsync();
            }

            return;
        }

        if (!_started)
        {
            _started = true;
            if (pod.Status?.Phase is "Succeeded" or "Failed")
            {
                // Finished before this kubelet saw it; nothing to run.
                return;
            }

            // A host-network pod shares the node's address; every other pod gets its own loopback address.
            _ip = pod.Spec.HostNetwork == true ? IPAddress.Loopback : _context.Addresses.Allocate();
            _startTime = DateTime.UtcNow;
            var runners = _context.Runners();
            IContainerRunner? RunnerFor(V1Container c) => runners.FirstOrDefault(r => r.Matches(c.Image ?? string.Empty));
            _initContainers.AddRange((pod.Spec.InitContainers ?? []).Select(c => new ContainerRuntime(c, isInit: true, RunnerFor(c))));
            _containers.AddRange(pod.Spec.Containers.Select(c => new ContainerRuntime(c, isInit: false, RunnerFor(c))));
            Log.PodStarting(_context.Logger, Namespace, Name, _ip.ToString(), _containers.Count(c => c.Runner is not null));
            await SetupAsync();
        }
    }

    private async Task SetupAsync()
    {
        if (_terminating || _ip is null)
        {
            return;
        }

        try
        {
            var reader = new ObjectReader(_context.Client, Namespace);
            _tokens = new ProjectedTokens(_context.Client, _pod);
            _volumes = await VolumeMaterializer.MaterializeAsync(_pod, PodDirectory, reader, _tokens, _lifetime.Token);
            foreach (var container in _initContainers.Concat(_containers).Where(c => c.Runner is not null))
            {
                container.Launch = await ContainerLaunchBuilder.BuildAsync(
                    _pod, container.Spec, _ip.ToString(), PodDirectory, _volumes, _context.Client.BaseUri, reader, _lifetime.Token);
            }
        }
        catch (Exception e) when (e is PodSetupException or HttpOperationException or HttpRequestException or IOException)
        {
            _setupAttempts++;
            foreach (var container in _initContainers.Concat(_containers))
            {
                container.State = ContainerRuntime.Waiting("CreateContainerConfigError", e.Message);
            }

            Log.SetupFailed(_context.Logger, Namespace, Name, e.Message);
            PostAfter(Backoff(_setupAttempts), SetupAsync);
            return;
        }

        foreach (var container in _initContainers.Concat(_containers))
        {
            container.State = ContainerRuntime.Waiting(container.IsInit || _initContainers.Count == 0 ? "ContainerCreating" : "PodInitializing");
        }

        ScheduleTokenRefresh(TimeSpan.Zero);
        PostAfter(_context.Options.VolumeSyncPeriod, SyncVolumesAsync);
        await StartNextAsync();
    }

    private void ScheduleTokenRefresh(TimeSpan atLeast)
    {
        if (_tokens?.NextRefresh is { } next)
        {
            var delay = next - DateTimeOffset.UtcNow;
            PostAfter(delay > atLeast ? delay : atLeast, RefreshTokensAsync);
        }
    }

    private async Task RefreshTokensAsync()
    {
        if (_terminating || _tokens is null)
        {
            return;
        }

        try
        {
            await _tokens.RefreshDueAsync(DateTimeOffset.UtcNow, _lifetime.Token);
            ScheduleTokenRefresh(TimeSpan.Zero);
        }
        catch (Exception e) when (e is PodSetupException or HttpOperationException or HttpRequestException or IOException)
        {
            // The old token stays valid for the remaining fifth of its lifetime: try again shortly.
            Log.TokenRefreshFailed(_context.Logger, Namespace, Name, e.Message);
            ScheduleTokenRefresh(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>Every volume sync period, as long as the pod runs: Secret and ConfigMap volumes follow their objects.</summary>
    private async Task SyncVolumesAsync()
    {
        if (_terminating || _done)
        {
            return;
        }

        try
        {
            foreach (var volume in await VolumeMaterializer.SyncAsync(_pod, PodDirectory, new ObjectReader(_context.Client, Namespace), _lifetime.Token))
            {
                Log.VolumeUpdated(_context.Logger, Namespace, Name, volume);
            }
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
        {
            Log.VolumeSyncFailed(_context.Logger, Namespace, Name, e.Message);
        }

        PostAfter(_context.Options.VolumeSyncPeriod, SyncVolumesAsync);
    }

    private async Task SyncStatusAsync(CancellationToken ct)
    {
        if (_terminating || _ip is null || !_started)
        {
            return;
        }

        var status = PodStatusBuilder.Build(_pod, _ip.ToString(), _startTime, _initContainers, _containers, _initFailed, _conditions, DateTime.UtcNow);
        var body = new V1Pod { Status = status };
        var json = KubernetesJson.Serialize(body);
        if (json == _lastStatus)
        {
            return;
        }

        try
        {
            var stored = await _context.Client.CoreV1.PatchNamespacedPodStatusAsync(
                new V1Patch(json, V1Patch.PatchType.StrategicMergePatch), Name, Namespace, cancellationToken: ct);
            _lastStatus = json;
            _lastWritten = status;
            _lastWrittenVersion = ulong.TryParse(stored?.Metadata?.ResourceVersion, out var version) ? version : 0;
            if (status.Phase is "Succeeded" or "Failed")
            {
                // Nothing runs any more; keep the address until the pod object goes, like a real kubelet's sandbox.
                Log.PodFinished(_context.Logger, Namespace, Name, status.Phase);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Deleted; the watch brings the DELETED event.
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException
            || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            Log.StatusPatchFailed(_context.Logger, Namespace, Name, e.Message);
            PostAfter(TimeSpan.FromSeconds(1), () => Task.CompletedTask);
        }
    }

    /// <summary>
    /// Whether <paramref name="pod"/> was stored after this kubelet's last status write: versions the watch delivers
    /// from before that write hold an older status of this kubelet's own, not someone else's change.
    /// </summary>
    private bool IsNewerThanLastWrite(V1Pod pod) =>
        !ulong.TryParse(pod.Metadata?.ResourceVersion, out var version) || version > _lastWrittenVersion;

    private TimeSpan Backoff(int attempt)
    {
        var delay = _context.Options.RestartBackoff * Math.Pow(2, Math.Min(attempt - 1, 10));
        return delay < _context.Options.MaxRestartBackoff ? delay : _context.Options.MaxRestartBackoff;
    }
}
