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

// Usage: [--creates N] [--pods N] [--networks N] [--join-concurrency N]. Needs the control plane binaries and a built agent (dotnet build agent).
var creates = Arg("--creates", 20);
var pods = Arg("--pods", 200);
var networks = Arg("--networks", 5);
var joinConcurrency = Arg("--join-concurrency", new NetworksOptions().JoinConcurrency);

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
        await NetworkFormationAsync(fixture, pods, networks, joinConcurrency);
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
            await foreach (var (_, d) in fixture.Client.AppsV1.WatchListNamespacedDeploymentAsync(ns, cancellationToken: stop.Token))
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

static async Task NetworkFormationAsync(ControlPlaneFixture fixture, int pods, int networks, int joinConcurrency)
{
    var ns = await fixture.NewNamespaceAsync("bench-networks");
    await using var agent = await AgentHost.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
    {
        ["Sidecars:Clusters:Namespace"] = ns,
        ["Sidecars:Networks:Namespace"] = ns,
        ["Sidecars:Networks:CallTimeout"] = "00:00:05",
        ["Sidecars:Networks:CheckInterval"] = "00:00:30",
        ["Sidecars:Networks:JoinConcurrency"] = joinConcurrency.ToString(CultureInfo.InvariantCulture),
    });
    var controller = agent.Services.GetRequiredService<NetworkController>();
    var started = Stopwatch.GetTimestamp();
    for (var n = 0; n < networks; n++)
    {
        var replicas = (pods / networks) + (n < pods % networks ? 1 : 0);
        await fixture.Client.AppsV1.CreateNamespacedDeploymentAsync(LightpeerWorkloads.Deployment($"bench-{n}", $"bench-{n}", replicas), ns);
    }

    // All pods Ready (by watch), then all joined (controller) and every peer knowing every other (lightpeer Peers()).
    await fixture.Client.WaitForPodsAsync(ns, null, p => p.Count == pods && p.All(IsReady), $"{pods} lightpeer pods Ready", TimeSpan.FromMinutes(20));
    var ready = Stopwatch.GetTimestamp();
    var readyAt = DateTimeOffset.UtcNow;
    Console.WriteLine($"networks: {pods} pods in {networks} networks (join concurrency {joinConcurrency}) Ready after {Stopwatch.GetElapsedTime(started, ready).TotalSeconds:0.0} s");
    using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
    await controller.WaitForAsync(s => s.Sum(n => n.Members.Count) == pods && s.All(n => n.Pending == 0), cts.Token);
    var joined = Stopwatch.GetTimestamp();
    using var channels = new ChannelCache();
    var waiting = controller.Snapshot().SelectMany(n => n.Members.Select(m => (Member: m.Address, Network: n.Members.Select(x => x.Address).ToHashSet(StringComparer.Ordinal)))).ToList();
    var probes = 0;
    var lastChange = DateTimeOffset.MinValue;
    while (waiting.Count > 0)
    {
        // Only peers still missing someone are asked again, all at once: a peer with the full set keeps it.
        var answers = await Task.WhenAll(waiting.Select(w => KnowsAllAsync(channels, w.Member, w.Network, cts.Token)));
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
            Console.WriteLine($"    {Stopwatch.GetElapsedTime(ready).TotalSeconds:0.0} s after Ready: {waiting.Count} peers still miss someone");
        }
        if (waiting.Count > 0)
        {
            await Task.Delay(100, cts.Token);
        }
    }

    var meshed = Stopwatch.GetTimestamp();
    Console.WriteLine($"  Ready -> every pod a member (controller): {Stopwatch.GetElapsedTime(ready, joined).TotalSeconds:0.00} s");
    Console.WriteLine($"  Ready -> every peer knows every other:   {Stopwatch.GetElapsedTime(ready, meshed).TotalSeconds:0.00} s ({probes} Peers() probes)");
    // The same by the peers' own word: the last change to any set that was then complete, on this machine's clock.
    Console.WriteLine($"  Ready -> last peer set completed (as the peers report it): {(lastChange - readyAt).TotalSeconds:0.00} s");
    Console.WriteLine($"  lightpeers' own counts: {await LightpeerCountsAsync(controller)}");
    Traffic(agent);
    Console.WriteLine($"  pods' container logs (lightpeers' drops and take-backs) kept in {KeepPodLogs(fixture.ControlPlane.Kubelet, ns)}");
    foreach (var n in Enumerable.Range(0, networks))
    {
        await fixture.Client.AppsV1.DeleteNamespacedDeploymentAsync($"bench-{n}", ns, new V1DeleteOptions { PropagationPolicy = "Foreground" });
    }

    await fixture.Client.WaitForPodsAsync(ns, null, p => p.Count == 0, "pods gone", TimeSpan.FromMinutes(10));
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
    var peers = await new Lightpeer.LightpeerClient(channels.Get(member)).PeersAsync(new PeersRequest(), cancellationToken: cancellationToken);
    return (peers.Peers.Count == network.Count - 1 && peers.Peers.All(network.Contains), peers.Changed?.ToDateTimeOffset());
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
