using System.Diagnostics;
using Grpc.Core;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Controllers;
using Sidecars.Lightpeer;
using Sidecars.Networks.Identity;

namespace Sidecars.Networks;

/// <summary>
/// Keeps each peer network's membership in line with its pods (label klight.networkId, seen through the shared pod
/// informer): a pod event only queues its network; a pass over the network (<see cref="ReconcileAsync"/>, one at a
/// time per network) reads the informer, purges members whose pod was deleted, replaced or stopped answering (telling
/// the rest to forget them), and starts joining each Ready pod through one live member, newest first. Up to
/// <see cref="NetworksOptions.JoinConcurrency"/> pods of a network join at once, each on its own, as a scaled-up
/// Deployment turns Ready in a burst; a pod that turns Ready meanwhile starts without waiting for them. A purge never
/// runs beside a join of its network, so no join goes through a member being forgotten.
/// It runs on the elected replica only; each pass ends by recording the members on their pods
/// (<see cref="NetworkMemberRecord"/>), from which every replica answers (<see cref="Snapshot"/>) and a new leader
/// starts: members are not joined again after a takeover.
/// </summary>
public sealed partial class NetworkController : BackgroundService
{
    /// <summary>Networks reconciled side by side (each network by one worker at a time).</summary>
    private const int Workers = 4;

    /// <summary>Membership records of one network written at once.</summary>
    private const int RecordConcurrency = 8;

    /// <summary>Spacing of the attempts to join a Ready pod that does not answer yet.</summary>
    private static readonly ExponentialBackoff JoinBackoff = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));

    private readonly IKubernetes _client;
    private readonly NetworksOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NetworkController> _logger;
    private readonly ResourceInformer<V1Pod> _pods;
    private readonly PeerClients _clients;

    /// <summary>Per lightpeer address, whether its pod mounts the identity Secret (so it serves mutual TLS).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _secure = new(StringComparer.Ordinal);
    private readonly WorkQueue<string> _queue;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, NetworkState> _networks = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The running term's token: joins run off the pass that starts them and end with the term.</summary>
    private CancellationToken _stopping;

    public NetworkController(
        IKubernetes client,
        SharedInformerFactory informers,
        IOptions<NetworksOptions> options,
        NetworkCredentials credentials,
        TimeProvider time,
        ILogger<NetworkController> logger)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _pods = informers.Pods(_options.Namespace, SidecarsLabels.NetworkId);
        _clients = new PeerClients(_options.CallTimeout, credentials);
        _queue = new WorkQueue<string>("networks", time);
    }

    /// <summary>
    /// The networks as recorded on their pods (the same on every replica once its informer has seen the records); the
    /// pending figure leaves out pods whose join attempts ran out, which only the leader knows.
    /// </summary>
    public IReadOnlyList<NetworkSnapshot> Snapshot()
    {
        var pods = Observed().ToLookup(p => p.Network, StringComparer.Ordinal);
        lock (_lock)
        {
            return [.. pods.OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g =>
                {
                    var members = NetworkPlanner.Recorded(g);
                    IReadOnlyDictionary<string, JoinState> joins = _networks.TryGetValue(g.Key, out var state) ? state.Joins : new Dictionary<string, JoinState>();
                    return new NetworkSnapshot(g.Key, members, NetworkPlanner.Pending(g, members, joins, _options));
                })
                .Where(n => n.Members.Count > 0 || n.Pending > 0)];
        }
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _pods.WaitForSyncAsync(cancellationToken);

    /// <summary>Completes when <paramref name="condition"/> holds for the networks; re-evaluated on every change of members or pods.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<NetworkSnapshot>, bool> condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var pods = _pods.Subscribe(_ => Changed());
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
        _queue.Dispose();
        _clients.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = _pods.Subscribe(OnPod, replay: true);
        _pods.Start();
        try
        {
            await _pods.WaitForSyncAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        _stopping = stoppingToken;
        Resume();
        await ReconcileLoop.RunAsync(_queue, Workers, ReconcileAsync, _logger, _options.CheckInterval, Resync, _time, stoppingToken);
        await Task.WhenAll(InFlightJoins());
    }

    /// <summary>Takes over the members recorded on the pods (by an earlier leader), newest first.</summary>
    private void Resume()
    {
        foreach (var network in Observed().GroupBy(p => p.Network, StringComparer.Ordinal))
        {
            var recorded = network.Select(p => p.Recorded).OfType<NetworkMember>().OrderByDescending(m => m.JoinedAt).ToList();
            if (recorded.Count == 0)
            {
                continue;
            }

            var state = Network(network.Key);
            lock (_lock)
            {
                state.Members.AddRange(recorded.Where(m => !state.Members.Exists(e => e.Key == m.Key)));
                NetworkMetrics.Size.WithLabels(state.Id).Set(state.Members.Count);
            }

            Log.Resumed(_logger, network.Key, recorded.Count);
        }
    }

    private void OnPod(ResourceEvent<V1Pod> evt)
    {
        if (LightpeerPod.From(evt.Item) is { } pod)
        {
            if (pod.Address is { } address)
            {
                _secure[address] = pod.Tls;
            }

            _queue.Add(pod.Network);
        }
    }

    /// <summary>
    /// Every check interval: health-check every network's members in its next pass, give pods whose join attempts ran
    /// out a fresh start, and queue every network (also one whose pods moved elsewhere).
    /// </summary>
    private void Resync()
    {
        string[] ids;
        lock (_lock)
        {
            foreach (var network in _networks.Values)
            {
                network.CheckDue = true;
                foreach (var key in network.Joins.Where(j => j.Value.Failures >= _options.JoinAttempts).Select(j => j.Key).ToList())
                {
                    network.Joins.Remove(key);
                }
            }

            ids = [.. _networks.Keys];
        }

        foreach (var id in ids.Union(Observed().Select(p => p.Network), StringComparer.Ordinal))
        {
            _queue.Add(id);
        }
    }

    /// <summary>
    /// One pass over a network: check members when due, purge, start the joins of Ready pods, record the members. A
    /// join runs on its own (up to <see cref="NetworksOptions.JoinConcurrency"/> per network) and queues the network
    /// again when it ends, so a pod that turns Ready while others join starts at once instead of waiting for the
    /// slowest of them. A purge waits until no join of its network is in flight (no join goes through a member being
    /// forgotten), and no join starts while a purge waits.
    /// </summary>
    private async Task<Reconciled> ReconcileAsync(string id, CancellationToken ct)
    {
        var network = Network(id);
        bool check;
        lock (_lock)
        {
            check = network.CheckDue;
            network.CheckDue = false;
        }

        IReadOnlySet<string> outside = check ? await CheckMembersAsync(network, ct) : new HashSet<string>();
        var pods = Observed().Where(p => p.Network == id).ToList();
        NetworkPlan plan;
        int inFlight;
        lock (_lock)
        {
            plan = NetworkPlanner.Plan(pods, network.Members, network.Failures, network.Joins, _options, _time.GetUtcNow(), Stopwatch.GetTimestamp());
            network.Joins = new Dictionary<string, JoinState>(plan.JoinStates, StringComparer.Ordinal);
            inFlight = network.InFlight.Count;
        }

        var again = false;
        if (plan.Purges.Count == 0 || inFlight == 0)
        {
            // Else the joins in flight queue the network when they end, and the purge runs then.
            foreach (var purge in plan.Purges)
            {
                await RemoveAsync(network, purge.Member, purge.Reason, ct);
            }

            if (plan.First is { } first)
            {
                // Decided alone: with joins in flight (whose member vanished) it waits until they end.
                again = inFlight == 0 && (await JoinAsync(network, first, alone: true, ct) || plan.PassAgain);
            }
            else
            {
                // Members whose lightpeer restarted and was not called by any peer since: joined again, as they are
                // not Ready until then.
                StartJoins(network, [.. plan.Joins, .. pods.Where(p => outside.Contains(p.Key) && p is { ReadyOnceMember: true, Gone: false })]);
            }
        }

        if (!await RecordAsync(network, ct))
        {
            return Reconciled.Retry;
        }

        if (again)
        {
            return Reconciled.After(TimeSpan.Zero);
        }

        DateTimeOffset? next;
        lock (_lock)
        {
            next = network.Joins.Values.Where(s => s.Failures is > 0 && s.Failures < _options.JoinAttempts).Select(s => (DateTimeOffset?)s.NotBefore).Min();
        }

        return next is { } at ? Reconciled.After(at - _time.GetUtcNow()) : Reconciled.Done;
    }

    /// <summary>
    /// Starts the joins of the pods not joining already, while the network has join slots free; each join queues the
    /// network when it ends, and the pods left out start then.
    /// </summary>
    private void StartJoins(NetworkState network, IReadOnlyList<LightpeerPod> pods)
    {
        lock (_lock)
        {
            foreach (var pod in pods)
            {
                if (network.InFlight.Count >= _options.JoinConcurrency)
                {
                    return;
                }

                if (!network.InFlight.ContainsKey(pod.Key))
                {
                    // The join yields before its first step, so it is recorded here before it can remove itself.
                    network.InFlight.Add(pod.Key, RunJoinAsync(network, pod));
                }
            }
        }
    }

    /// <summary>Every network's joins in flight, awaited when the term ends.</summary>
    private Task[] InFlightJoins()
    {
        lock (_lock)
        {
            return [.. _networks.Values.SelectMany(n => n.InFlight.Values)];
        }
    }

    /// <summary>One pod's join, off the pass that started it; a pod that does not answer is tried again after a backoff.</summary>
    private async Task RunJoinAsync(NetworkState network, LightpeerPod pod)
    {
        await Task.Yield();
        try
        {
            await JoinAsync(network, pod, alone: false, _stopping);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            // The term ended (a call cut by it fails as cancelled or as an RPC error).
        }
        catch (Exception e)
        {
            // Not expected (calls and Kubernetes errors are handled inside); the pod is tried again after a backoff.
            Log.JoinCrashed(_logger, pod.Namespace, pod.Name, network.Id, e);
            JoinFailed(network, pod);
        }
        finally
        {
            lock (_lock)
            {
                network.InFlight.Remove(pod.Key);
            }

            _queue.Add(network.Id);
        }
    }

    /// <summary>
    /// Joins the pod through the newest live member, or makes it the first member when it is joining alone with none.
    /// A pod that finds every member dead beside other joins does not make itself the first: the next pass decides
    /// that alone. A member is joined again the same way (through the others, or alone when it is the only one) when
    /// its lightpeer says it is outside the network (restarted, and no peer called it since).
    /// </summary>
    private async Task<bool> JoinAsync(NetworkState network, LightpeerPod pod, bool alone, CancellationToken ct)
    {
        IReadOnlyList<NetworkMember> others;
        bool rejoin;
        lock (_lock)
        {
            others = [.. network.Members.Where(m => m.Key != pod.Key)];
            rejoin = network.Members.Exists(m => m.Key == pod.Key && m.Uid == pod.Uid);
        }

        var result = others.Count == 0 && (alone || rejoin)
            ? await JoinAloneAsync(pod, ct)
            : await MemberSelection.JoinThroughAsync(others, m => AttemptAsync(pod, m, ct));
        foreach (var dead in result.Dropped)
        {
            await RemoveAsync(network, dead, "unreachable", ct);
        }

        switch (result.Outcome)
        {
            case JoinOutcome.Joined when rejoin:
            case JoinOutcome.First when rejoin && others.Count == 0:
                NetworkMetrics.Joins.WithLabels("rejoined").Inc();
                Log.Rejoined(_logger, pod.Namespace, pod.Name, network.Id, result.Via?.Key ?? "(alone)");
                break;
            case JoinOutcome.Joined:
            case JoinOutcome.First when alone:
                Admit(network, pod, result);
                break;
            case JoinOutcome.PodUnreachable:
                JoinFailed(network, pod);
                break;
        }

        return result.Dropped.Count > 0 || (result.Outcome == JoinOutcome.First && !alone && !rejoin);
    }

    /// <summary>
    /// The first member of a network. The injected lightpeer is told so (a join naming itself), as it is Ready only once
    /// in a network; a pod's own lightpeer is recorded without a call, as it always was.
    /// </summary>
    private async Task<JoinResult> JoinAloneAsync(LightpeerPod pod, CancellationToken ct)
    {
        if (!pod.ReadyOnceMember)
        {
            return new JoinResult(JoinOutcome.First, null, []);
        }

        try
        {
            var response = await Client(pod.Address!).JoinAsync(
                new JoinRequest { Address = pod.Address }, deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: ct);
            return new JoinResult(response.Joined ? JoinOutcome.First : JoinOutcome.PodUnreachable, null, []);
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            NetworkMetrics.JoinFailures.WithLabels("pod_unreachable").Inc();
            Log.PodUnreachable(_logger, pod.Namespace, pod.Name, pod.Address!, e.Status.Detail);
            return new JoinResult(JoinOutcome.PodUnreachable, null, []);
        }
    }

    /// <summary>
    /// Records a pod whose lightpeer has joined as the newest member. The join happened even if the pod stopped being
    /// Ready meanwhile (a member that is not Ready stays a member, too): dropping it would make the pod join all over
    /// again once it is Ready. Only a pod deleted or replaced since is not recorded.
    /// </summary>
    private void Admit(NetworkState network, LightpeerPod pod, JoinResult result)
    {
        long since;
        lock (_lock)
        {
            if (network.Members.Exists(m => m.Key == pod.Key) || !StillExists(pod))
            {
                network.Joins.Remove(pod.Key);
                return;
            }

            since = network.Joins.Remove(pod.Key, out var state) ? state.Since : Stopwatch.GetTimestamp();
            network.Members.Insert(0, new NetworkMember(pod.Namespace, pod.Name, pod.Uid, pod.Address!, NetworkMemberRecord.Precision(_time.GetUtcNow())));
            NetworkMetrics.Size.WithLabels(network.Id).Set(network.Members.Count);
            Changed();
        }

        NetworkMetrics.Joins.WithLabels(result.Outcome == JoinOutcome.First ? "first" : "joined").Inc();
        NetworkMetrics.JoinSeconds.Observe(Stopwatch.GetElapsedTime(since).TotalSeconds);
        Log.Joined(_logger, pod.Namespace, pod.Name, network.Id, result.Via?.Key ?? "(first member)");
    }

    /// <summary>Counts a failed attempt and spaces the next; after the last attempt the pod waits for the next resync.</summary>
    private void JoinFailed(NetworkState network, LightpeerPod pod)
    {
        int failures;
        lock (_lock)
        {
            if (!network.Joins.TryGetValue(pod.Key, out var state) || state.Uid != pod.Uid)
            {
                return;
            }

            failures = state.Failures + 1;
            network.Joins[pod.Key] = state with { Failures = failures, NotBefore = _time.GetUtcNow() + JoinBackoff.Delay(failures) };
            if (failures >= _options.JoinAttempts)
            {
                Changed();
            }
        }

        if (failures == _options.JoinAttempts)
        {
            Log.GaveUp(_logger, pod.Namespace, pod.Name, network.Id, failures);
        }
    }

    private bool StillExists(LightpeerPod pod) =>
        _pods.TryGet(pod.Namespace, pod.Name, out var current) && current is not null
        && LightpeerPod.From(current) is { Gone: false } view && view.Uid == pod.Uid && view.Address == pod.Address;

    private IEnumerable<LightpeerPod> Observed() => _pods.Snapshot().Select(p => LightpeerPod.From(p)).OfType<LightpeerPod>();

    private async Task<JoinAttempt> AttemptAsync(LightpeerPod pod, NetworkMember member, CancellationToken ct)
    {
        try
        {
            var response = await Client(pod.Address!).JoinAsync(
                new JoinRequest { Address = member.Address }, deadline: DateTime.UtcNow + (3 * _options.CallTimeout), cancellationToken: ct);
            if (response.Joined)
            {
                return JoinAttempt.Joined;
            }

            // Only drop the member when it does not answer us either; a slow exchange is retried, not punished.
            if (await IsHealthyAsync(member.Address, ct))
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
                await Client(m.Address).ForgetAsync(request, deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: ct);
            }
            catch (RpcException e)
            {
                Log.ForgetFailed(_logger, m.Key, member.Address, e.Status.Detail);
            }
        }));
    }

    /// <summary>Writes the membership records the network's pods lack or no longer deserve; false when a write failed.</summary>
    private async Task<bool> RecordAsync(NetworkState network, CancellationToken ct)
    {
        IReadOnlyList<NetworkMember> members;
        lock (_lock)
        {
            members = [.. network.Members];
        }

        // Written side by side: a pass that admitted many pods would otherwise wait for their records one by one.
        var written = 1;
        await Parallel.ForEachAsync(
            NetworkPlanner.Records(Observed().Where(p => p.Network == network.Id), members),
            new ParallelOptions { MaxDegreeOfParallelism = RecordConcurrency, CancellationToken = ct },
            async (change, token) =>
            {
                var patch = AnnotationPatch.For(change.Pod.Uid, new Dictionary<string, string?>
                {
                    [SidecarsAnnotations.NetworkMember] = change.Member is null ? null : NetworkMemberRecord.Format(network.Id, change.Member),
                });
                try
                {
                    await _client.CoreV1.PatchNamespacedPodAsync(patch, change.Pod.Name, change.Pod.Namespace, cancellationToken: token);
                }
                catch (HttpOperationException e) when ((int)e.Response.StatusCode is 404 or 409 or 422)
                {
                    // Deleted or replaced meanwhile: its next event brings a pass over what is there.
                }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException)
                {
                    Log.RecordFailed(_logger, change.Pod.Namespace, change.Pod.Name, network.Id, e.Message);
                    Interlocked.Exchange(ref written, 0);
                }
            });
        return written == 1;
    }

    /// <summary>
    /// Health-checks every member, counting consecutive failures (the plan purges those past the threshold); returns
    /// the keys of members that answer but say they are outside the network.
    /// </summary>
    private async Task<IReadOnlySet<string>> CheckMembersAsync(NetworkState network, CancellationToken ct)
    {
        IReadOnlyList<NetworkMember> members;
        lock (_lock)
        {
            members = [.. network.Members];
        }

        var results = await Task.WhenAll(members.Select(async m => (Member: m, Health: await HealthAsync(m.Address, ct))));
        var outside = new HashSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var (member, health) in results)
            {
                if (health is not { } answer)
                {
                    network.Failures[member.Key] = network.Failures.GetValueOrDefault(member.Key) + 1;
                    continue;
                }

                network.Failures.Remove(member.Key);
                if (answer.HasMember && !answer.Member)
                {
                    outside.Add(member.Key);
                }
            }
        }

        return outside;
    }

    private async Task<bool> IsHealthyAsync(string address, CancellationToken ct) => await HealthAsync(address, ct) is not null;

    /// <summary>The lightpeer's answer when it answers as itself, else null.</summary>
    private async Task<HealthResponse?> HealthAsync(string address, CancellationToken ct)
    {
        try
        {
            var response = await Client(address).HealthAsync(
                new HealthRequest(), deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: ct);
            return response.Self == address ? response : null;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    /// <summary>The lightpeer at <paramref name="address"/>, over mutual TLS when its pod mounts the identity Secret, else over h2c.</summary>
    private Contracts.V1.Lightpeer.LightpeerClient Client(string address) =>
        _clients.Get(address, _secure.TryGetValue(address, out var secure) && secure);

    private NetworkState Network(string id)
    {
        lock (_lock)
        {
            if (!_networks.TryGetValue(id, out var network))
            {
                network = new NetworkState(id);
                _networks.Add(id, network);
            }

            return network;
        }
    }

    private void Changed()
    {
        TaskCompletionSource previous;
        lock (_lock)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    /// <summary>What the controller has done to one network; only touched under the controller's lock.</summary>
    private sealed class NetworkState(string id)
    {
        public string Id { get; } = id;

        /// <summary>Newest first.</summary>
        public List<NetworkMember> Members { get; } = [];

        /// <summary>Consecutive failed health checks per member key.</summary>
        public Dictionary<string, int> Failures { get; } = new(StringComparer.Ordinal);

        /// <summary>Pods being joined, by key.</summary>
        public Dictionary<string, JoinState> Joins { get; set; } = new(StringComparer.Ordinal);

        /// <summary>The joins in flight, by pod key; each removes itself when it ends.</summary>
        public Dictionary<string, Task> InFlight { get; } = new(StringComparer.Ordinal);

        /// <summary>The next pass health-checks the members first.</summary>
        public bool CheckDue { get; set; }
    }
}
