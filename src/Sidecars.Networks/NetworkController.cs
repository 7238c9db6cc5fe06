using System.Diagnostics;
using Grpc.Core;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Lightpeer;

namespace Sidecars.Networks;

/// <summary>
/// Watches lightpeer pods (label klight.networkId) through the shared pod informer, joins each Ready pod to its
/// network through one live member (newest first), and purges members whose pod was deleted, failed or stopped
/// answering, telling the remaining members to forget them.
/// </summary>
public sealed partial class NetworkController : BackgroundService
{
    private readonly NetworksOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NetworkController> _logger;
    private readonly ResourceInformer<V1Pod> _pods;
    private readonly PeerClients _clients;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, NetworkState> _networks = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NetworkController(SharedInformerFactory informers, IOptions<NetworksOptions> options, TimeProvider time, ILogger<NetworkController> logger)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _logger = logger;
        _pods = informers.Pods(_options.Namespace, SidecarsLabels.NetworkId);
        _clients = new PeerClients(_options.CallTimeout);
    }

    public IReadOnlyList<NetworkSnapshot> Snapshot()
    {
        lock (_lock)
        {
            return [.. _networks.Values
                .Where(n => n.Members.Count > 0 || n.Pending.Count > 0)
                .OrderBy(n => n.Id, StringComparer.Ordinal)
                .Select(n => new NetworkSnapshot(n.Id, [.. n.Members], n.Pending.Count))];
        }
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _pods.WaitForSyncAsync(cancellationToken);

    /// <summary>Completes when <paramref name="condition"/> holds for the networks; re-evaluated on every change.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<NetworkSnapshot>, bool> condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                changed = _changed.Task;
            }

            if (condition(Snapshot()))
            {
                return;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    public override void Dispose()
    {
        _clients.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = _pods.Subscribe(e => OnPod(e, stoppingToken), replay: true);
        _pods.Start();
        using var timer = new PeriodicTimer(_options.CheckInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await CheckMembersAsync(stoppingToken);
                Resync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host is stopping.
        }
    }

    private void OnPod(ResourceEvent<V1Pod> evt, CancellationToken ct)
    {
        if (LightpeerPod.From(evt.Item, evt.Type == ResourceEventType.Deleted) is { } pod)
        {
            Consider(pod, ct);
        }
    }

    private void Consider(LightpeerPod pod, CancellationToken ct)
    {
        lock (_lock)
        {
            var network = Network(pod.Network);
            var member = network.Members.Find(m => m.Key == pod.Key);
            if (pod.Gone || (member is not null && member.Uid != pod.Uid))
            {
                network.Pending.Remove(pod.Key);
                if (member is not null)
                {
                    _ = Task.Run(() => PurgeAsync(network, member, pod.Gone ? "deleted" : "replaced", ct), CancellationToken.None);
                }

                if (pod.Gone)
                {
                    return;
                }
            }

            if (!pod.Joinable && network.Pending.Remove(pod.Key))
            {
                // Only Ready pods join: a pod that stopped being Ready while it waited is picked up again once it is.
                Changed();
                return;
            }

            if (pod.Joinable && member is null && network.Pending.TryAdd(pod.Key, pod))
            {
                _ = Task.Run(() => JoinAsync(network, pod, Stopwatch.GetTimestamp(), 1, ct), CancellationToken.None);
                Changed();
            }
        }
    }

    /// <summary>
    /// Joins the pod through the newest live member. Up to <see cref="NetworksOptions.JoinConcurrency"/> pods of a
    /// network join at once (a scaled-up Deployment turns Ready in a burst). A pod that would become the first member
    /// (no member, or none that answers) decides so alone: two pods doing it side by side would each start a network
    /// of their own, and the two would never meet.
    /// </summary>
    private async Task JoinAsync(NetworkState network, LightpeerPod pod, long readySince, int attempt, CancellationToken ct)
    {
        JoinResult result;

        // A pod that does not answer yet must not hold up the joins queued behind it.
        var answering = await IsHealthyAsync(pod.Address!, ct);
        var admission = await network.Gate.JoinAsync(ct);
        var exclusive = false;
        try
        {
            while (true)
            {
                IReadOnlyList<NetworkMember> members;
                lock (_lock)
                {
                    // Queued by this join, not again since: a pod that left the queue and came back has a newer join.
                    if (!network.Pending.TryGetValue(pod.Key, out var current) || !ReferenceEquals(current, pod))
                    {
                        return;
                    }

                    members = [.. network.Members];
                }

                result = !answering ? new JoinResult(JoinOutcome.PodUnreachable, null, [])
                    : members.Count == 0 && !exclusive ? new JoinResult(JoinOutcome.First, null, [])
                    : await MemberSelection.JoinThroughAsync(members, m => AttemptAsync(pod, m, ct));
                foreach (var dead in result.Dropped)
                {
                    await RemoveAsync(network, dead, "unreachable", ct);
                    Rejoin(dead, ct);
                }

                if (result.Outcome != JoinOutcome.First || exclusive)
                {
                    break;
                }

                // Decide again alone: another pod may have become the first member meanwhile.
                admission.Dispose();
                admission = await network.Gate.ExclusiveAsync(ct);
                exclusive = true;
            }

            if (result.Outcome is JoinOutcome.Joined or JoinOutcome.First)
            {
                if (Admit(network, pod))
                {
                    NetworkMetrics.Joins.WithLabels(result.Outcome == JoinOutcome.First ? "first" : "joined").Inc();
                    NetworkMetrics.JoinSeconds.Observe(Stopwatch.GetElapsedTime(readySince).TotalSeconds);
                    Log.Joined(_logger, pod.Namespace, pod.Name, network.Id, result.Via?.Key ?? "(first member)");
                }

                return;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        finally
        {
            admission.Dispose();
        }

        if (attempt >= _options.JoinAttempts)
        {
            lock (_lock)
            {
                if (network.Pending.TryGetValue(pod.Key, out var current) && ReferenceEquals(current, pod))
                {
                    network.Pending.Remove(pod.Key);
                    Changed();
                }
            }

            Log.GaveUp(_logger, pod.Namespace, pod.Name, network.Id, attempt);
            return;
        }

        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * (1 << Math.Min(attempt, 5)))), _time, ct);
            await JoinAsync(network, pod, readySince, attempt + 1, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Host is stopping.
        }
    }

    /// <summary>
    /// Records a pod whose lightpeer has joined as the newest member. The join happened even if the pod stopped being
    /// Ready meanwhile and left the queue (a member that is not Ready stays a member, too): dropping it would make the
    /// pod join all over again once it is Ready. Only a pod deleted or replaced since, or one already recorded (a
    /// second join of the same pod that was in flight), is not recorded.
    /// </summary>
    private bool Admit(NetworkState network, LightpeerPod pod)
    {
        lock (_lock)
        {
            var queued = network.Pending.TryGetValue(pod.Key, out var current) && current.Uid == pod.Uid;
            var recorded = network.Members.Exists(m => m.Key == pod.Key);
            if (recorded || (!queued && !StillExists(pod)))
            {
                return false;
            }

            network.Pending.Remove(pod.Key);
            network.Members.Insert(0, new NetworkMember(pod.Namespace, pod.Name, pod.Uid, pod.Address!, _time.GetUtcNow()));
            NetworkMetrics.Size.WithLabels(network.Id).Set(network.Members.Count);
            Changed();
            return true;
        }
    }

    private bool StillExists(LightpeerPod pod) =>
        Current(pod.Namespace, pod.Name, pod.Uid) is { Gone: false } view && view.Address == pod.Address;

    /// <summary>The informer's view of the pod, if it is still the same pod (same uid).</summary>
    private LightpeerPod? Current(string @namespace, string name, string uid) =>
        _pods.TryGet(@namespace, name, out var pod) && pod is not null && LightpeerPod.From(pod) is { } view && view.Uid == uid
            ? view
            : null;

    private async Task<JoinAttempt> AttemptAsync(LightpeerPod pod, NetworkMember member, CancellationToken ct)
    {
        try
        {
            var response = await _clients.Get(pod.Address!).JoinAsync(
                new JoinRequest { Address = member.Address }, deadline: DateTime.UtcNow + (3 * _options.CallTimeout), cancellationToken: ct);
            if (response.Joined)
            {
                return JoinAttempt.Joined;
            }

            // Only drop the member when it does not answer us either; a slow exchange is retried, not punished.
            if (await IsHealthyAsync(member, ct))
            {
                NetworkMetrics.JoinFailures.WithLabels("exchange_failed").Inc();
                return JoinAttempt.PodUnreachable;
            }

            NetworkMetrics.JoinFailures.WithLabels("member_unreachable").Inc();
            Log.MemberUnreachable(_logger, member.Key, pod.Namespace, pod.Name, response.Error);
            return JoinAttempt.MemberUnreachable;
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            NetworkMetrics.JoinFailures.WithLabels("pod_unreachable").Inc();
            Log.PodUnreachable(_logger, pod.Namespace, pod.Name, pod.Address!, e.Status.Detail);
            return JoinAttempt.PodUnreachable;
        }
    }

    /// <summary>Removes the member once no join of its network is in flight, so no join goes through a member being forgotten.</summary>
    private async Task PurgeAsync(NetworkState network, NetworkMember member, string reason, CancellationToken ct)
    {
        using (await network.Gate.ExclusiveAsync(ct))
        {
            await RemoveAsync(network, member, reason, ct);
        }
    }

    /// <summary>Removes the member and tells the remaining members to forget it; safe to repeat.</summary>
    private async Task RemoveAsync(NetworkState network, NetworkMember member, string reason, CancellationToken ct)
    {
        IReadOnlyList<NetworkMember> rest;
        lock (_lock)
        {
            if (network.Members.RemoveAll(m => m.Key == member.Key && m.Uid == member.Uid) == 0)
            {
                return;
            }

            network.Failures.Remove(member.Key);
            rest = [.. network.Members];
            NetworkMetrics.Size.WithLabels(network.Id).Set(network.Members.Count);
            Changed();
        }

        NetworkMetrics.Purges.WithLabels(reason).Inc();
        Log.Purged(_logger, member.Namespace, member.Pod, network.Id, reason);
        _clients.Close(member.Address);
        var request = new ForgetRequest { Addresses = { member.Address } };
        await Task.WhenAll(rest.Select(async m =>
        {
            try
            {
                await _clients.Get(m.Address).ForgetAsync(request, deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: ct);
            }
            catch (RpcException e)
            {
                Log.ForgetFailed(_logger, m.Key, member.Address, e.Status.Detail);
            }
        }));
    }

    private async Task CheckMembersAsync(CancellationToken ct)
    {
        NetworkState[] networks;
        lock (_lock)
        {
            networks = [.. _networks.Values];
        }

        await Task.WhenAll(networks.Select(async network =>
        {
            IReadOnlyList<NetworkMember> members;
            lock (_lock)
            {
                members = [.. network.Members];
            }

            var results = await Task.WhenAll(members.Select(async m => (Member: m, Ok: await IsHealthyAsync(m, ct))));
            var dead = new List<NetworkMember>();
            lock (_lock)
            {
                foreach (var (member, ok) in results)
                {
                    if (ok)
                    {
                        network.Failures.Remove(member.Key);
                    }
                    else if ((network.Failures[member.Key] = network.Failures.GetValueOrDefault(member.Key) + 1) >= _options.FailureThreshold)
                    {
                        dead.Add(member);
                    }
                }
            }

            foreach (var member in dead)
            {
                await PurgeAsync(network, member, "unreachable", ct);
                Rejoin(member, ct);
            }
        }));
    }

    /// <summary>
    /// Queues a member purged for not answering to join again while Kubernetes still calls its pod Ready: on a loaded
    /// node a live lightpeer can miss its checks, and it need not wait for the next resync. The join checks that it
    /// answers first, backing off while it does not.
    /// </summary>
    private void Rejoin(NetworkMember member, CancellationToken ct)
    {
        if (Current(member.Namespace, member.Pod, member.Uid) is { Joinable: true } view)
        {
            Consider(view, ct);
        }
    }

    /// <summary>Picks up Ready pods that are neither members nor pending (after a purge or exhausted join attempts).</summary>
    private void Resync(CancellationToken ct)
    {
        foreach (var pod in _pods.Snapshot())
        {
            if (LightpeerPod.From(pod) is { Joinable: true } view)
            {
                Consider(view, ct);
            }
        }
    }

    private Task<bool> IsHealthyAsync(NetworkMember member, CancellationToken ct) => IsHealthyAsync(member.Address, ct);

    private async Task<bool> IsHealthyAsync(string address, CancellationToken ct)
    {
        try
        {
            var response = await _clients.Get(address).HealthAsync(
                new HealthRequest(), deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: ct);
            return response.Self == address;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    private NetworkState Network(string id)
    {
        if (!_networks.TryGetValue(id, out var network))
        {
            network = new NetworkState(id, _options.JoinConcurrency);
            _networks.Add(id, network);
        }

        return network;
    }

    private void Changed()
    {
        var previous = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }

    private sealed class NetworkState(string id, int joinConcurrency)
    {
        public string Id { get; } = id;

        /// <summary>Newest first.</summary>
        public List<NetworkMember> Members { get; } = [];

        public Dictionary<string, LightpeerPod> Pending { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, int> Failures { get; } = new(StringComparer.Ordinal);

        public JoinGate Gate { get; } = new(joinConcurrency);
    }
}
