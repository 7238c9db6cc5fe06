using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.LocalCluster;
using Sidecars.Networks;
using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Lightpeer;

// Usage: [--creates N] [--pods N] [--networks N] [--join-concurrency N] [--runs N] [--kill-percent P].
// Needs the control plane binaries and a built agent (dotnet build agent). With --kill-percent, each run then kills
// (kill -9) that share of the lightpeers and measures how long the networks take to converge again.
var creates = Arg("--creates", 20);
var pods = Arg("--pods", 200);
var networks = Arg("--networks", 5);
var joinConcurrency = Arg("--join-concurrency", new NetworksOptions().JoinConcurrency);
var runs = Arg("--runs", 1);
var killPercent = Arg("--kill-percent", 0);

var fixture = new ControlPlaneFixture();
await fixture.InitializeAsync();
try
{
    Console.WriteLine($"control plane up; agent: {fixture.AgentPath ?? "(none: network part skipped)"}");
    if (creates > 0)
    {
        await CreateLatencyAsync(fixture, creates);
    }
    if (fixture.AgentPath is not null && pods > 0)
    {
        var formed = new List<double>();
        var reformed = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            Console.WriteLine($"== run {run} of {runs} (load: {File.ReadAllText("/proc/loadavg").Trim()})");
            var (converged, recovered) = await NetworkFormationAsync(fixture, pods, networks, joinConcurrency, killPercent);
            formed.Add(converged.TotalSeconds);
            if (recovered is { } r)
            {
                reformed.Add(r.TotalSeconds);
            }
        }

        Console.WriteLine($"== {pods} pods in {networks} networks, {runs} runs");
        Console.WriteLine($"  last pod Ready -> every peer knows every other: {Summary(formed)}");
        if (reformed.Count > 0)
        {
            Console.WriteLine($"  kill -9 of {killPercent} % of the lightpeers -> every peer knows every other again: {Summary(reformed)}");
        }
    }
}
finally
{
    await fixture.DisposeAsync();
}

return 0;

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static async Task CreateLatencyAsync(ControlPlaneFixture fixture, int count)
{
    var ns = await fixture.NewNamespaceAsync("bench-clusters");
    await using var agent = await AgentHost.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?> { ["Sidecars:Clusters:Namespace"] = ns, ["Sidecars:Networks:Namespace"] = ns });
    var clusters = new Clusters.ClustersClient(agent.Channel);

    // An independent watch records when Kubernetes reports each Deployment Available.
    var available = new ConcurrentDictionary<string, long>();
    using var stop = new CancellationTokenSource();
    var watch = Task.Run(async () =>
    {
        try
        {
            await foreach (var (_, d) in fixture.Client.WatchAsync<V1Deployment>(new WatchRequest(KubernetesWatch.CollectionPath("apps", "v1", "deployments", ns), AllowBookmarks: false), cancellationToken: stop.Token))
            {
                if (KubernetesConditions.IsDeploymentAvailable(d))
                {
                    available.TryAdd(d.Metadata.Name, Stopwatch.GetTimestamp());
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    });
    await clusters.ListClustersAsync(new ListClustersRequest());

    var gaps = new List<double>();
    var totals = new List<double>();
    for (var i = 0; i < count; i++)
    {
        var name = $"c{i}";
        var started = Stopwatch.GetTimestamp();
        await clusters.CreateClusterAsync(new CreateClusterRequest { Name = name, Replicas = 3, Image = "example.local/app:1" });
        var returned = Stopwatch.GetTimestamp();
        while (!available.ContainsKey(name))
        {
            await Task.Delay(5);
        }

        gaps.Add(Stopwatch.GetElapsedTime(available[name], returned).TotalMilliseconds);
        totals.Add(Stopwatch.GetElapsedTime(started, returned).TotalMilliseconds);
        await clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = name });
    }

    await stop.CancelAsync();
    await watch;
    Console.WriteLine($"create: {count} clusters of 3 replicas");
    Console.WriteLine($"  Available (independent watch) -> CreateCluster returned: p50 {P(gaps, 50):0.0} ms, p99 {P(gaps, 99):0.0} ms, max {gaps.Max():0.0} ms");
    Console.WriteLine($"  CreateCluster total: p50 {P(totals, 50):0} ms, p99 {P(totals, 99):0} ms");
    Traffic(agent);
}

static string Summary(List<double> seconds) =>
    $"min {seconds.Min():0.00} s, median {P(seconds, 50):0.00} s, max {seconds.Max():0.00} s ({string.Join(", ", seconds.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)))})";

// Returns the time from the last pod Ready to every peer knowing every other and, when lightpeers are killed, the time
// from the kill to the same again.
static async Task<(TimeSpan Converged, TimeSpan? Recovered)> NetworkFormationAsync(ControlPlaneFixture fixture, int pods, int networks, int joinConcurrency, int killPercent)
{
    var ns = await fixture.NewNamespaceAsync("bench-networks");
    await using var agent = await AgentHost.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
    {
        ["Sidecars:Clusters:Namespace"] = ns,
        ["Sidecars:Networks:Namespace"] = ns,
        ["Sidecars:Networks:CallTimeout"] = "00:00:05",
        ["Sidecars:Networks:CheckInterval"] = "00:00:30",
        ["Sidecars:Networks:JoinConcurrency"] = joinConcurrency.ToString(CultureInfo.InvariantCulture),
        // Under the load of hundreds of starting agents a lease renewal can time out; an agent that loses the lead
        // stops its controllers for good (a real one exits and is restarted), which would end the measurement.
        ["Sidecars:Leadership:LeaseDuration"] = "00:02:00",
        ["Sidecars:Leadership:RenewDeadline"] = "00:01:40",
    });
    var controller = agent.Services.GetRequiredService<NetworkController>();
    var started = Stopwatch.GetTimestamp();
    // Plain lightpeers: the figures stay comparable with earlier runs, and the probes below dial h2c.
    for (var n = 0; n < networks; n++)
    {
        var replicas = (pods / networks) + (n < pods % networks ? 1 : 0);
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment($"bench-{n}", $"bench-{n}", replicas, tls: false), ns);
    }

    // All pods Ready (by watch), then all joined (controller) and every peer knowing every other (lightpeer Peers()).
    var readyPods = await fixture.Client.WaitForPodsAsync(ns, null, p => p.Count == pods && p.All(IsReady), $"{pods} lightpeer pods Ready", TimeSpan.FromMinutes(20));
    var ready = Stopwatch.GetTimestamp();
    var readyAt = DateTimeOffset.UtcNow;
    // A lightpeer is Ready only once in its network, so the controller joins it from the moment it runs: the time from
    // the last lightpeer started (the kubelet's startedAt, whole seconds) is the one that includes the joins.
    var lastStarted = readyPods.Max(p => p.Status.ContainerStatuses.Max(c => c.State?.Running?.StartedAt ?? DateTime.MinValue));
    Console.WriteLine($"networks: {pods} pods in {networks} networks (join concurrency {joinConcurrency}) Ready after {Stopwatch.GetElapsedTime(started, ready).TotalSeconds:0.0} s");
    using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
    await controller.WaitForAsync(s => s.Sum(n => n.Members.Count) == pods && s.All(n => n.Pending == 0), cts.Token);
    var joined = Stopwatch.GetTimestamp();
    using var channels = new ChannelCache();
    var (probes, lastChange) = await MeshedAsync(controller, channels, ready, cts.Token);
    var meshed = Stopwatch.GetTimestamp();
    Console.WriteLine($"  Ready -> every pod a member (controller): {Stopwatch.GetElapsedTime(ready, joined).TotalSeconds:0.00} s");
    Console.WriteLine($"  Ready -> every peer knows every other:   {Stopwatch.GetElapsedTime(ready, meshed).TotalSeconds:0.00} s ({probes} Peers() probes)");
    // The same by the peers' own word: the last change to any set that was then complete, on this machine's clock.
    Console.WriteLine($"  Ready -> last peer set completed (as the peers report it): {(lastChange - readyAt).TotalSeconds:0.00} s");
    var meshedAt = readyAt + Stopwatch.GetElapsedTime(ready, meshed);
    Console.WriteLine($"  last lightpeer started ({lastStarted:HH:mm:ss}) -> last pod Ready: {(readyAt - new DateTimeOffset(lastStarted, TimeSpan.Zero)).TotalSeconds:0.0} s, -> every peer knows every other: {(meshedAt - new DateTimeOffset(lastStarted, TimeSpan.Zero)).TotalSeconds:0.0} s (± 1 s)");
    Console.WriteLine($"  lightpeers' own counts: {await LightpeerCountsAsync(controller)}");
    TimeSpan? recovered = null;
    if (killPercent > 0)
    {
        recovered = await KillAndRecoverAsync(fixture, controller, channels, ns, pods, killPercent, cts.Token);
    }

    Traffic(agent);
    Console.WriteLine($"  pods' container logs (lightpeers' drops and take-backs) kept in {KeepPodLogs(fixture.ControlPlane.Kubelet, ns)}");
    foreach (var n in Enumerable.Range(0, networks))
    {
        await fixture.Client.AppsV1.DeleteNamespacedDeploymentAsync($"bench-{n}", ns, new V1DeleteOptions { PropagationPolicy = "Foreground" });
    }

    await fixture.Client.WaitForPodsAsync(ns, null, p => p.Count == 0, "pods gone", TimeSpan.FromMinutes(10));
    return (Stopwatch.GetElapsedTime(ready, meshed), recovered);
}

// Kills (kill -9) the lightpeer processes of a random share of the members; the kubelet restarts them at the same
// addresses. Returns the time from the kill to every pod Ready, every pod a member and every peer knowing every other.
static async Task<TimeSpan> KillAndRecoverAsync(
    ControlPlaneFixture fixture, NetworkController controller, ChannelCache channels, string ns, int pods, int killPercent, CancellationToken ct)
{
    var members = controller.Snapshot().SelectMany(n => n.Members).ToArray();
    Random.Shared.Shuffle(members);
    var victims = members[..Math.Max(1, members.Length * killPercent / 100)];
    var processes = victims.SelectMany(v => LightpeerWorkloads.ProcessesOf(fixture.ControlPlane.Kubelet.FindPodDirectory(ns, v.Pod)
        ?? throw new InvalidOperationException($"no pod directory for {v.Pod}"))).ToArray();
    var killed = Stopwatch.GetTimestamp();
    await Task.WhenAll(processes.Select(pid => LightpeerWorkloads.SignalAsync(pid, "KILL")));
    Console.WriteLine($"  killed {processes.Length} lightpeers of {victims.Length} pods (kill -9)");

    // The kubelet sees the processes exit and restarts them; wait until it reports them running again.
    await fixture.Client.WaitForPodsAsync(
        ns, null, p => p.Count == pods && p.All(IsReady) && victims.All(v => p.Any(x => x.Metadata.Name == v.Pod && (x.Status?.ContainerStatuses?.Sum(c => c.RestartCount) ?? 0) > 0)),
        $"{pods} pods Ready, the killed ones restarted", TimeSpan.FromMinutes(10), ct);
    var restarted = Stopwatch.GetTimestamp();
    await controller.WaitForAsync(s => s.Sum(n => n.Members.Count) == pods && s.All(n => n.Pending == 0), ct);
    var joined = Stopwatch.GetTimestamp();
    await MeshedAsync(controller, channels, killed, ct);
    var meshed = Stopwatch.GetTimestamp();
    Console.WriteLine($"  kill -> killed pods Ready again: {Stopwatch.GetElapsedTime(killed, restarted).TotalSeconds:0.00} s");
    Console.WriteLine($"  kill -> every pod a member (controller): {Stopwatch.GetElapsedTime(killed, joined).TotalSeconds:0.00} s");
    Console.WriteLine($"  kill -> every peer knows every other:   {Stopwatch.GetElapsedTime(killed, meshed).TotalSeconds:0.00} s");
    return Stopwatch.GetElapsedTime(killed, meshed);
}

// Asks every member for its peers, all at once, and again only those still missing someone or knowing one too many,
// until every one knows exactly the other members of its network. Returns the probes made and the latest time a
// complete set last changed, by the peers' own word.
static async Task<(int Probes, DateTimeOffset LastChange)> MeshedAsync(NetworkController controller, ChannelCache channels, long since, CancellationToken ct)
{
    var waiting = controller.Snapshot().SelectMany(n => n.Members.Select(m => (Member: m.Address, Network: n.Members.Select(x => x.Address).ToHashSet(StringComparer.Ordinal)))).ToList();
    var probes = 0;
    var lastChange = DateTimeOffset.MinValue;
    while (waiting.Count > 0)
    {
        // Only peers still missing someone are asked again, all at once: a peer with the full set keeps it.
        var answers = await Task.WhenAll(waiting.Select(w => KnowsAllAsync(channels, w.Member, w.Network, ct)));
        probes += waiting.Count;
        var before = waiting.Count;
        foreach (var (complete, changed) in answers)
        {
            if (complete && changed is { } at && at > lastChange)
            {
                lastChange = at;
            }
        }

        waiting = [.. waiting.Where((_, i) => !answers[i].Complete)];
        if (waiting.Count > 0 && waiting.Count != before)
        {
            Console.WriteLine($"    {Stopwatch.GetElapsedTime(since).TotalSeconds:0.0} s: {waiting.Count} peers still miss someone");
        }

        if (waiting.Count > 0)
        {
            await Task.Delay(100, ct);
        }
    }

    return (probes, lastChange);
}

// Copies every container log of the namespace's pods out of the kubelet's pod directories, which go with the pods.
static string KeepPodLogs(SimulatedKubelet kubelet, string ns)
{
    var target = Path.Combine(AppContext.BaseDirectory, "agent-logs", $"{DateTime.UtcNow:HHmmss}-{ns}-pods");
    foreach (var pod in Directory.EnumerateDirectories(kubelet.PodRoot, ns + "_*"))
    {
        var kept = Path.Combine(target, Path.GetFileName(pod));
        Directory.CreateDirectory(kept);
        foreach (var log in Directory.EnumerateFiles(pod, "*.log"))
        {
            File.Copy(log, Path.Combine(kept, Path.GetFileName(log)));
        }
    }

    return target;
}

static bool IsReady(V1Pod pod) => KubernetesConditions.IsPodReady(pod);

// Sums the lightpeers' removal and exchange counters (their /metrics on the health port) over every member.
static async Task<string> LightpeerCountsAsync(NetworkController controller)
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    var totals = new SortedDictionary<string, double>(StringComparer.Ordinal);
    var hosts = controller.Snapshot().SelectMany(n => n.Members).Select(m => m.Address[..m.Address.LastIndexOf(':')]);
    foreach (var text in await Task.WhenAll(hosts.Select(h => http.GetStringAsync($"http://{h}:{SidecarsNames.LightpeerHealthPort}/metrics"))))
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("sidecars_lightpeer_peers_removed_total{", StringComparison.Ordinal) || line.StartsWith("sidecars_lightpeer_exchanges_total{", StringComparison.Ordinal))
            {
                var space = line.LastIndexOf(' ');
                var series = line[..space].Replace("sidecars_lightpeer_", "", StringComparison.Ordinal);
                totals[series] = totals.GetValueOrDefault(series) + double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            }
        }
    }

    return string.Join(", ", totals.Select(t => $"{t.Key} {t.Value:0}"));
}

static async Task<(bool Complete, DateTimeOffset? Changed)> KnowsAllAsync(ChannelCache channels, string member, HashSet<string> network, CancellationToken cancellationToken)
{
    try
    {
        var peers = await new Lightpeer.LightpeerClient(channels.Get(member)).PeersAsync(
            new PeersRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
        return (peers.Peers.Count == network.Count - 1 && peers.Peers.All(network.Contains) && !peers.Peers.Contains(member), peers.Changed?.ToDateTimeOffset());
    }
    catch (Grpc.Core.RpcException)
    {
        // Restarting (killed just now) or overloaded: asked again in the next round.
        return (false, null);
    }
}

static void Traffic(AgentHost agent)
{
    foreach (var (source, stats) in agent.Services.GetRequiredService<SharedInformerFactory>().Statistics())
    {
        Console.WriteLine($"  watch traffic, {source}: {stats.Lists} lists, {stats.Watches} watch requests, {stats.Events} events, {stats.Expirations} expirations, {stats.Stalls} stalls");
    }
}

static double P(List<double> values, int percentile)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

internal sealed class ChannelCache : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);

    public GrpcChannel Get(string address) => _channels.GetOrAdd(address, a => GrpcChannel.ForAddress("http://" + a));

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }
}
