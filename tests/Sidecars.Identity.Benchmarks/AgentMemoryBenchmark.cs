using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Net.Client;
using Sidecars.Contracts.V1;
using Sidecars.PodAgent;
using Sidecars.Testing.Agent;

/// <summary>
/// Resident memory of the NativeAOT agent in both roles next to the NativeAOT floor of its stack, in interleaved rounds:
/// idle (ready, one probe and one scrape), under load (pod-agent: Sign over the socket, unary then one shared stream;
/// lightpeer: Health and Peers calls; floor: gRPC health checks), and after N Prometheus scrapes of /metrics (one
/// kept-alive connection, as Prometheus scrapes) each followed by a probe of /healthz on a new connection (as the
/// kubelet probes), then settled (12 s later, quiet). Each figure is /proc/&lt;pid&gt;/status of a process started fresh for the round, with the
/// breakdown of /proc/&lt;pid&gt;/smaps at the end.
/// </summary>
internal static class AgentMemoryBenchmark
{
    private static readonly string[] Phases = ["idle", "load", "scrapes", "settled"];

    /// <param name="variants">name → environment variables of the agent (GC settings...); "shipped" runs it as built.</param>
    public static async Task RunAsync(string agentBinary, string? floorBinary, string clusterAgent, string dir, int rounds, int scrapes, int seconds,
        IReadOnlyList<(string Name, string[] Environment)> variants)
    {
        var results = new List<(string Role, string Phase, MemoryFigures Figures)>();
        var breakdowns = new Dictionary<string, Breakdown>();
        for (var round = 1; round <= rounds; round++)
        {
            var roles = variants.SelectMany(v => new[] { ("pod-agent", v), ("lightpeer", v) }).ToList();
            if (floorBinary is not null)
            {
                roles.Insert(round % 2 == 0 ? 0 : roles.Count, ("floor", ("floor", Array.Empty<string>())));
            }

            // Alternate the order between rounds so that drift on a shared machine does not favour one process.
            if (round % 2 == 0)
            {
                roles.Reverse();
            }

            foreach (var (kind, variant) in roles)
            {
                var role = kind == "floor" ? kind : variant.Name == "shipped" ? kind : $"{kind}/{variant.Name}";
                var measured = kind switch
                {
                    "pod-agent" => await PodAgentAsync(agentBinary, clusterAgent, dir, scrapes, seconds, variant.Environment),
                    "lightpeer" => await LightpeerAsync(agentBinary, dir, scrapes, seconds, variant.Environment),
                    _ => await FloorAsync(floorBinary!, dir, scrapes, seconds),
                };
                foreach (var (phase, figures) in measured.Phases)
                {
                    Console.WriteLine($"round {round} {role,-20} {phase,-7} {figures}");
                    results.Add((role, phase, figures));
                }

                Console.WriteLine($"round {round} {role,-9} smaps at the load's peak  {measured.PeakBreakdown}");
                Console.WriteLine($"round {round} {role,-9} smaps  {measured.Breakdown}");
                breakdowns[role] = measured.Breakdown;
            }
        }

        Console.WriteLine();
        Console.WriteLine($"VmRSS MiB, min / median / max over {rounds} rounds (load: highest VmRSS sampled every 100 ms under load; scrapes: after {scrapes} scrapes + probes); ratio of medians to the floor");
        foreach (var role in results.Select(r => r.Role).Distinct())
        {
            foreach (var phase in Phases)
            {
                var mine = results.Where(r => r.Role == role && r.Phase == phase).Select(r => r.Figures).ToList();
                var floor = results.Where(r => r.Role == "floor" && r.Phase == phase).Select(r => r.Figures.Rss).ToList();
                var rss = mine.Select(f => f.Rss).ToList();
                var ratio = floor.Count > 0 && role != "floor" ? $"  x{Median(rss) / Median(floor):0.00} floor" : string.Empty;
                Console.WriteLine($"{role,-20} {phase,-7} VmRSS {Spread(rss)}  anonymous {Spread(mine.Select(f => f.Anonymous).ToList())}  " +
                    $"files {Spread(mine.Select(f => f.Files).ToList())}  VmHWM {Spread(mine.Select(f => f.Peak).ToList())}{ratio}");
            }
        }

        Console.WriteLine();
        Console.WriteLine("Where the resident memory goes at the end of the last round (/proc/<pid>/smaps, MiB):");
        foreach (var (role, breakdown) in breakdowns)
        {
            Console.WriteLine($"{role,-20} {breakdown}");
        }
    }

    private static async Task<Measured> PodAgentAsync(string binary, string clusterAgent, string dir, int scrapes, int seconds, IReadOnlyList<string> environment)
    {
        var socket = Path.Combine(dir, "memory-agent.sock");
        var healthPort = FreePort.Next();
        using var process = Start(binary, environment,
            "pod-agent", "--socket", socket, "--secret-file", Path.Combine(dir, "secret"), "--cluster-agent", clusterAgent,
            "--cluster-agent-ca", Path.Combine(dir, "server-ca.pem"), "--pod-name", "bench-memory", "--pod-ip", "127.0.0.1",
            "--health-port", healthPort.ToString(CultureInfo.InvariantCulture), "--token-port", "0");
        try
        {
            using var channel = PodAgentSocket.CreateChannel(socket);
            var client = new PodAgent.PodAgentClient(channel);
            await WaitAsync(() => File.Exists(socket) && client.GetBlessings(new GetBlessingsRequest(), deadline: DateTime.UtcNow.AddSeconds(5)) is not null, process);
            return await MeasureAsync(process, healthPort, scrapes, async () =>
            {
                var sign = new SignRequest { Data = ByteString.CopyFrom(new byte[256]) };
                await ForAsync(32, TimeSpan.FromSeconds(seconds), async () => await client.SignAsync(sign));
                await using var signer = new PodAgentSigner(client);
                var payload = new byte[256];
                await ForAsync(32, TimeSpan.FromSeconds(seconds), async () => await signer.SignAsync(payload));
            });
        }
        finally
        {
            await StopAsync(process);
        }
    }

    private static async Task<Measured> LightpeerAsync(string binary, string dir, int scrapes, int seconds, IReadOnlyList<string> environment)
    {
        var (port, healthPort) = (FreePort.Next(), FreePort.Next());
        using var process = Start(binary, environment, "lightpeer", "--address", "127.0.0.1",
            "--port", port.ToString(CultureInfo.InvariantCulture), "--health-port", healthPort.ToString(CultureInfo.InvariantCulture));
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new Lightpeer.LightpeerClient(channel);
            await WaitAsync(() => client.Health(new HealthRequest(), deadline: DateTime.UtcNow.AddSeconds(5)) is not null, process);
            return await MeasureAsync(process, healthPort, scrapes, async () =>
            {
                var count = 0L;
                await ForAsync(32, TimeSpan.FromSeconds(2 * seconds), async () =>
                {
                    if (Interlocked.Increment(ref count) % 2 == 0)
                    {
                        await client.HealthAsync(new HealthRequest());
                    }
                    else
                    {
                        await client.PeersAsync(new PeersRequest());
                    }
                });
            });
        }
        finally
        {
            await StopAsync(process);
        }
    }

    private static async Task<Measured> FloorAsync(string binary, string dir, int scrapes, int seconds)
    {
        var socket = Path.Combine(dir, "memory-floor.sock");
        var healthPort = FreePort.Next();
        using var process = Start(binary, [], socket, healthPort.ToString(CultureInfo.InvariantCulture));
        try
        {
            using var channel = PodAgentSocket.CreateChannel(socket);
            var client = new Grpc.Health.V1.Health.HealthClient(channel);
            await WaitAsync(() => File.Exists(socket) && client.Check(new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5)) is not null, process);
            return await MeasureAsync(process, healthPort, scrapes, async () =>
                await ForAsync(32, TimeSpan.FromSeconds(2 * seconds), async () => await client.CheckAsync(new Grpc.Health.V1.HealthCheckRequest())));
        }
        finally
        {
            await StopAsync(process);
        }
    }

    /// <summary>idle → load (sampled) → N scrapes + probes; the floor answers /metrics with a 404, which costs it the same request.</summary>
    private static async Task<Measured> MeasureAsync(Process process, int healthPort, int scrapes, Func<Task> load)
    {
        using var scraper = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };
        using var prober = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{healthPort}"),
        };
        prober.DefaultRequestHeaders.ConnectionClose = true;
        async Task ScrapeAndProbeAsync()
        {
            using (var metrics = await scraper.GetAsync("/metrics")) await metrics.Content.ReadAsByteArrayAsync();
            using var health = await prober.GetAsync("/healthz");
            health.EnsureSuccessStatusCode();
        }

        var phases = new List<(string, MemoryFigures)>();
        await ScrapeAndProbeAsync();
        // Let start-up work settle (the pod-agent's collection once it holds its blessings) before the idle figure.
        await Task.Delay(TimeSpan.FromSeconds(2));
        phases.Add(("idle", MemoryFigures.Read(process.Id)));

        using var sampling = new CancellationTokenSource();
        MemoryFigures? highest = null;
        Breakdown? peak = null;
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var figures = MemoryFigures.Read(process.Id);
                if (highest is null || figures.Rss > highest.Rss)
                {
                    (highest, peak) = (figures, Breakdown.Read(process.Id));
                }

                await Task.Delay(100, CancellationToken.None);
            }
        });
        await load();
        await sampling.CancelAsync();
        await sampler;
        var afterLoad = MemoryFigures.Read(process.Id);
        phases.Add(("load", highest is not null && highest.Rss > afterLoad.Rss ? highest with { Peak = afterLoad.Peak } : afterLoad));

        for (var i = 0; i < scrapes; i++)
        {
            await ScrapeAndProbeAsync();
        }

        phases.Add(("scrapes", MemoryFigures.Read(process.Id)));
        // Then quiet, as between a kubelet's probes: what the process keeps once a burst of work is over.
        await Task.Delay(TimeSpan.FromSeconds(12));
        phases.Add(("settled", MemoryFigures.Read(process.Id)));
        return new Measured(phases, Breakdown.Read(process.Id), peak ?? Breakdown.Read(process.Id));
    }

    private static Process Start(string binary, IReadOnlyList<string> environment, params string[] args)
    {
        // A variant's "binary=PATH" runs another build of the agent (an earlier one, to compare in the same rounds).
        var other = environment.Where(v => v.StartsWith("binary=", StringComparison.Ordinal)).Select(v => v["binary=".Length..]).LastOrDefault();
        var info = new ProcessStartInfo(other ?? binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var variable in environment.Where(v => !v.StartsWith("binary=", StringComparison.Ordinal)))
        {
            var (name, value) = (variable.Split('=', 2)[0], variable.Split('=', 2)[1]);
            info.Environment[name] = value;
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitAsync(Func<bool> serving, Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode}");
            try
            {
                if (serving()) return;
            }
            catch (Grpc.Core.RpcException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{process.StartInfo.FileName} did not serve within 120 s");
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill();
        }

        await process.WaitForExitAsync();
    }

    private static async Task ForAsync(int concurrency, TimeSpan duration, Func<Task> call)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                await call();
            }
        })));
    }


    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Spread(List<double> values) => values.Count == 0 ? "-" : $"{values.Min():0.0} / {Median(values):0.0} / {values.Max():0.0}";

    private sealed record Measured(List<(string Phase, MemoryFigures Figures)> Phases, Breakdown Breakdown, Breakdown PeakBreakdown);

    /// <summary>/proc/&lt;pid&gt;/status in MiB: VmRSS, its anonymous and file-backed parts, VmHWM.</summary>
    private sealed record MemoryFigures(double Rss, double Anonymous, double Files, double Peak)
    {
        public static MemoryFigures Read(int pid)
        {
            var fields = File.ReadAllLines($"/proc/{pid}/status")
                .Select(line => line.Split(':', 2))
                .Where(parts => parts.Length == 2)
                .ToDictionary(parts => parts[0], parts => parts[1].Trim());
            double MiB(string name) => long.Parse(fields[name].Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            return new MemoryFigures(MiB("VmRSS"), MiB("RssAnon"), MiB("RssFile") + MiB("RssShmem"), MiB("VmHWM"));
        }

        public override string ToString() => $"VmRSS {Rss:0.0} MiB (anonymous {Anonymous:0.0}, files {Files:0.0}), VmHWM {Peak:0.0} MiB";
    }

    /// <summary>
    /// Resident memory by kind of mapping, from /proc/&lt;pid&gt;/smaps: the executable's own pages (code, read-only data,
    /// and its writable data, most of it the runtime's type data rehydrated at start), shared libraries (OpenSSL, libc...),
    /// the GC heap (the runtime's one large reservation), malloc (the [heap] and glibc's per-thread arenas, where OpenSSL
    /// allocates), thread stacks, and other anonymous mappings.
    /// </summary>
    private sealed record Breakdown(double Binary, double BinaryData, double Libraries, double GcHeap, double Malloc, double Stacks, double OtherAnonymous, int Threads)
    {
        public static Breakdown Read(int pid)
        {
            var exe = File.ResolveLinkTarget($"/proc/{pid}/exe", returnFinalTarget: true)?.FullName ?? string.Empty;
            var maps = new List<(ulong Start, ulong End, string Perms, string Name, long SizeKb, double RssMiB)>();
            foreach (var line in File.ReadAllLines($"/proc/{pid}/smaps"))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 5 && parts[0].Contains('-', StringComparison.Ordinal) && !parts[0].EndsWith(':'))
                {
                    var range = parts[0].Split('-');
                    maps.Add((ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                        parts[1], parts.Length >= 6 ? string.Join(' ', parts[5..]) : string.Empty, 0, 0));
                }
                else if (parts.Length >= 2 && parts[0] is "Size:" or "Rss:" && maps.Count > 0)
                {
                    var value = long.Parse(parts[1], CultureInfo.InvariantCulture);
                    maps[^1] = parts[0] == "Size:" ? maps[^1] with { SizeKb = value } : maps[^1] with { RssMiB = value / 1024.0 };
                }
            }

            // The GC reserves one range of at least 256 GB for its regions and commits regions inside it: a run of
            // adjacent anonymous mappings that holds an inaccessible one of 1 GiB or more.
            var gcMaps = new HashSet<int>();
            for (var first = 0; first < maps.Count;)
            {
                var last = first;
                while (last + 1 < maps.Count && maps[last + 1].Name.Length == 0 && maps[first].Name.Length == 0 && maps[last + 1].Start == maps[last].End)
                {
                    last++;
                }

                if (Enumerable.Range(first, last - first + 1).Any(i => maps[i].Name.Length == 0 && maps[i].Perms.StartsWith("---", StringComparison.Ordinal) && maps[i].SizeKb >= 1024 * 1024))
                {
                    gcMaps.UnionWith(Enumerable.Range(first, last - first + 1));
                }

                first = last + 1;
            }

            double binary = 0, binaryData = 0, libraries = 0, gc = 0, malloc = 0, stacks = 0, other = 0;
            for (var i = 0; i < maps.Count; i++)
            {
                var (_, _, perms, name, size, rss) = maps[i];
                var anonymous = name.Length == 0;
                var afterGuard = i > 0 && maps[i - 1].Perms.StartsWith("---", StringComparison.Ordinal) && maps[i - 1].SizeKb <= 64;
                var beforeReserve = i + 1 < maps.Count && maps[i + 1].Name.Length == 0 && maps[i + 1].Perms.StartsWith("---", StringComparison.Ordinal);
                if (name == exe || (anonymous && i > 0 && maps[i - 1].Name == exe && maps[i - 1].End == maps[i].Start))
                {
                    // Code and read-only data; or the writable data and, right after it, the runtime's type data rehydrated at start.
                    if (perms.Contains('w', StringComparison.Ordinal)) binaryData += rss; else binary += rss;
                }
                else if (gcMaps.Contains(i))
                {
                    gc += rss;
                }
                else if (name.StartsWith('/'))
                {
                    libraries += rss;
                }
                else if (name == "[heap]")
                {
                    malloc += rss;
                }
                else if (name.StartsWith("[stack", StringComparison.Ordinal))
                {
                    stacks += rss;
                }
                else if (anonymous && beforeReserve && size + maps[i + 1].SizeKb == 65536)
                {
                    // A glibc malloc arena: a 64 MiB reservation whose first part is committed.
                    malloc += rss;
                }
                else if (anonymous && afterGuard && perms.StartsWith("rw", StringComparison.Ordinal) && size >= 128)
                {
                    // A thread stack: a read-write mapping right after its guard page.
                    stacks += rss;
                }
                else
                {
                    other += rss;
                }
            }

            var threads = Directory.GetDirectories($"/proc/{pid}/task").Length;
            return new Breakdown(binary, binaryData, libraries, gc, malloc, stacks, other, threads);
        }

        public override string ToString() =>
            $"binary code+rodata {Binary:0.0}, binary data+hydrated {BinaryData:0.0}, libraries {Libraries:0.0}, GC heap {GcHeap:0.0}, malloc {Malloc:0.0}, " +
            $"stacks {Stacks:0.0}, other anonymous {OtherAnonymous:0.0}; {Threads} threads";
    }
}
