using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Admin;
using Sidecars.PodAgent;

// usage: dotnet run -c Release --project tests/Sidecars.Identity.Benchmarks [-- --agent PATH-TO-sidecars-agent] [--floor PATH-TO-grpc-floor] [--seconds N]
//        [--memory ROUNDS [--scrapes N] [--variants "name:NAME=value,NAME=value;name2:..."]]   (memory only: both roles and the floor, see AgentMemoryBenchmark)
var seconds = 10;
string? agentBinary = null;
string? floorBinary = null;
var memoryRounds = 0;
var scrapes = 1000;
var variants = new List<(string Name, string[] Environment)> { ("shipped", []) };
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--seconds") seconds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    if (args[i] == "--agent") agentBinary = args[i + 1];
    if (args[i] == "--floor") floorBinary = args[i + 1];
    if (args[i] == "--memory") memoryRounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    if (args[i] == "--scrapes") scrapes = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    if (args[i] == "--variants")
    {
        variants.AddRange(args[i + 1].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => (v.Split(':', 2)[0], v.Split(':', 2)[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))));
    }
}

var dir = Path.Combine(Path.GetTempPath(), "sidb-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(dir);
using var serverCa = AdminCredentials.CreateCertificateAuthority("bench-server-ca");
using var serverCert = AdminCredentials.IssueServerCertificate(serverCa, "127.0.0.1");
using var adminCa = AdminCredentials.CreateCertificateAuthority("bench-admin-ca");
using var admin = AdminCredentials.IssueClientCertificate(adminCa, "bench");
File.WriteAllText(Path.Combine(dir, "admin-ca.pem"), adminCa.ExportCertificatePem());
File.WriteAllText(Path.Combine(dir, "server-ca.pem"), serverCa.ExportCertificatePem());

var builder = WebApplication.CreateBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Sidecars:Identity:Store"] = "File",
    ["Sidecars:Identity:FilePath"] = Path.Combine(dir, "identity.json"),
    ["Sidecars:Identity:AdminClientCaFile"] = Path.Combine(dir, "admin-ca.pem"),

    // No cluster: issuance alone is measured (attestation adds a TokenReview and a pod read per call).
    ["Sidecars:Identity:ReplicaAttestation"] = "SecretOnly",
});
builder.AddSidecarsIdentity();
var issuedToAgent = new IssuedToReplica("bench-agent");
builder.Services.AddSingleton(issuedToAgent);
builder.Services.Configure<Grpc.AspNetCore.Server.GrpcServiceOptions>(grpc => grpc.Interceptors.Add<IssuedToReplicaInterceptor>());
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => { l.Protocols = HttpProtocols.Http2; l.UseHttps(serverCert); }));
await using var app = builder.Build();
app.MapSidecarsIdentity();
await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection { serverCa };
using var adminChannel = AdminCredentials.CreateChannel(address, admin, roots);
var adminClient = new Identity.IdentityClient(adminChannel);
await adminClient.ClaimAsync(new ClaimRequest { Blessing = "root" });
var secret = (await adminClient.NewSecretAsync(new NewSecretRequest { Extension = "bench" })).Secret;
File.WriteAllText(Path.Combine(dir, "secret"), secret);
if (memoryRounds > 0)
{
    await AgentMemoryBenchmark.RunAsync(agentBinary ?? throw new ArgumentException("--memory needs --agent"), floorBinary, address, dir, memoryRounds, scrapes, seconds, variants);
    await app.StopAsync();
    Directory.Delete(dir, recursive: true);
    return 0;
}

// 1. SeekBlessings issuances/s and latency percentiles, 16 concurrent callers on one HTTP/2 channel.
using var anyChannel = AdminCredentials.CreateChannel(address, null, roots);
var client = new Identity.IdentityClient(anyChannel);
using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
var request = new SeekBlessingsRequest { Secret = secret, PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()), Replica = "bench-0" };
for (var i = 0; i < 200; i++) await client.SeekBlessingsAsync(request);
var (count, latencies) = await RunAsync(16, TimeSpan.FromSeconds(seconds), async () => await client.SeekBlessingsAsync(request));
Console.WriteLine($"SeekBlessings: {count / (double)seconds:0} issuances/s, p50 {Percentile(latencies, 0.50):0.00} ms, p99 {Percentile(latencies, 0.99):0.00} ms (16 concurrent, {seconds}s)");

// 2. The agent: start-to-ready, Sign calls/s over the socket, RSS.
var socket = Path.Combine(dir, "agent.sock");
var agentArgs = new[]
{
    "pod-agent", "--socket", socket, "--secret-file", Path.Combine(dir, "secret"), "--cluster-agent", address,
    "--cluster-agent-ca", Path.Combine(dir, "server-ca.pem"), "--pod-name", "bench-agent", "--health-port", "0",
};
var started = Stopwatch.StartNew();
Process? process = null;
Task<int>? inProcess = null;
using var stop = new CancellationTokenSource();
if (agentBinary is not null)
{
    var info = new ProcessStartInfo(agentBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in agentArgs) info.ArgumentList.Add(a);
    process = Process.Start(info)!;
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
}
else
{
    inProcess = PodAgentCommand.RunAsync(agentArgs[1..], stop.Token);
}

var ready = await WaitServingAsync(socket, TimeSpan.FromSeconds(60), async (channel, deadline) =>
{
    await new PodAgent.PodAgentClient(channel).GetBlessingsAsync(new GetBlessingsRequest(), deadline: deadline);
    return true;
});
var startToReady = started.Elapsed;
if (!ready) throw new InvalidOperationException("agent did not become ready");
var blessingsToReady = startToReady - issuedToAgent.At(started);
Console.WriteLine($"Agent start-to-ready: {startToReady.TotalMilliseconds:0} ms; blessings issued after {(startToReady - blessingsToReady).TotalMilliseconds:0} ms, " +
    $"socket serving them {blessingsToReady.TotalMilliseconds:0.0} ms later ({(process is null ? "in-process" : agentBinary)})");
if (process is not null)
{
    Console.WriteLine($"Agent RSS when ready (serving its socket with blessings, idle): {ProcStatus(process.Id)}");
}

using var socketChannel = PodAgentSocket.CreateChannel(socket);
var podAgent = new PodAgent.PodAgentClient(socketChannel);
var sign = new SignRequest { Data = ByteString.CopyFrom(new byte[256]) };
for (var i = 0; i < 500; i++) await podAgent.SignAsync(sign);
var agentCpuBefore = process is null ? TimeSpan.Zero : Refreshed(process).TotalProcessorTime;
var ownCpuBefore = Refreshed(Process.GetCurrentProcess()).TotalProcessorTime;
var (signs, signLatencies) = await RunAsync(32, TimeSpan.FromSeconds(seconds), async () => await podAgent.SignAsync(sign));
var ownCpu = Refreshed(Process.GetCurrentProcess()).TotalProcessorTime - ownCpuBefore;
Console.WriteLine($"Sign over the socket: {signs / (double)seconds:0} calls/s, p99 {Percentile(signLatencies, 0.99):0.00} ms (32 concurrent, 256-byte payload)");
if (process is not null)
{
    var agentCpu = Refreshed(process).TotalProcessorTime - agentCpuBefore;
    Console.WriteLine($"CPU per Sign call: agent {agentCpu.TotalMicroseconds / signs:0} us, calling process {ownCpu.TotalMicroseconds / signs:0} us");
}

// Signatures/s in interleaved rounds, so that drift on a shared machine hits every way alike: the same load through
// PodAgentSigner (every caller shares one SignStream) with one payload per request, then with its batching; and callers
// that have many payloads at once, each sending them as one batch (64 per Sign call, 8 concurrent).
const int CallerBatch = 64;
var batchCall = new SignRequest();
batchCall.Batch.AddRange(Enumerable.Range(0, CallerBatch).Select(_ => ByteString.CopyFrom(new byte[256])));
var ways = new (string Name, int PerCall, Func<Task<(long Count, List<double> LatenciesMs)>> Run)[]
{
    ("SignStream, one payload per request (PodAgentSigner, maxBatch 1)", 1, Signer(1)),
    ($"SignStream, batched by PodAgentSigner (maxBatch {PodAgentSigner.DefaultMaxBatch})", 1, Signer(PodAgentSigner.DefaultMaxBatch)),
    ($"Sign with a batch of {CallerBatch} payloads (8 concurrent calls)", CallerBatch,
        () => WarmedAsync(8, async () => await podAgent.SignAsync(batchCall))),
};

Func<Task<(long, List<double>)>> Signer(int maxBatch) => async () =>
{
    await using var signer = new PodAgentSigner(podAgent, maxBatch);
    var payload = new byte[256];
    return await WarmedAsync(32, async () => await signer.SignAsync(payload));
};

// One second of warm-up, then the measured run, with the CPU clocks started after the warm-up.
async Task<(long, List<double>)> WarmedAsync(int concurrency, Func<Task> call)
{
    await RunAsync(concurrency, TimeSpan.FromSeconds(1), call);
    agentCpuBefore = process is null ? TimeSpan.Zero : Refreshed(process).TotalProcessorTime;
    ownCpuBefore = Refreshed(Process.GetCurrentProcess()).TotalProcessorTime;
    return await RunAsync(concurrency, TimeSpan.FromSeconds(seconds), call);
}

var rates = ways.Select(_ => new List<double>()).ToArray();
for (var round = 1; round <= 3; round++)
{
    for (var w = 0; w < ways.Length; w++)
    {
        var (calls, callLatencies) = await ways[w].Run();
        var signatures = calls * ways[w].PerCall;
        ownCpu = Refreshed(Process.GetCurrentProcess()).TotalProcessorTime - ownCpuBefore;
        var rate = signatures / (double)seconds;
        rates[w].Add(rate);
        var cpu = process is null ? "" :
            $"; CPU per signature: agent {(Refreshed(process).TotalProcessorTime - agentCpuBefore).TotalMicroseconds / signatures:0} us, calling process {ownCpu.TotalMicroseconds / signatures:0} us";
        Console.WriteLine($"round {round}, {ways[w].Name}: {rate:0} signatures/s, p99 {Percentile(callLatencies, 0.99):0.00} ms per call (256-byte payloads){cpu}");
    }
}

var medians = rates.Select(r => r.Order().ElementAt(r.Count / 2)).ToArray();
for (var w = 0; w < ways.Length; w++)
{
    var sorted = rates[w].Order().ToList();
    Console.WriteLine($"{ways[w].Name}: signatures/s min / median / max {sorted[0]:0} / {medians[w]:0} / {sorted[^1]:0}" +
        (w == 0 ? "" : $"; / one payload per request (medians) {medians[w] / medians[0]:0.00}x"));
}

if (process is not null)
{
    process.Refresh();
    Console.WriteLine($"Agent RSS after the Sign load: {ProcStatus(process.Id)}");
    process.Kill();
    await process.WaitForExitAsync();
}
else
{
    await stop.CancelAsync();
    await inProcess!;
    Console.WriteLine("Agent RSS: pass --agent <published sidecars-agent> to measure a separate process");
}

// 3. The floor: the smallest server of the same stack (Kestrel and gRPC over a Unix socket, NativeAOT), measured the same
// way as the agent: once it first answers a call.
if (floorBinary is not null)
{
    var floorSocket = Path.Combine(dir, "floor.sock");
    var info = new ProcessStartInfo(floorBinary);
    info.ArgumentList.Add(floorSocket);
    using var floor = Process.Start(info)!;
    var serving = await WaitServingAsync(floorSocket, TimeSpan.FromSeconds(30), async (channel, deadline) =>
        (await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: deadline)).Status
            == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
    Console.WriteLine(serving
        ? $"Floor RSS when serving (Kestrel + gRPC health service on a Unix socket, {floorBinary}): {ProcStatus(floor.Id)}"
        : "Floor did not answer within 30 s");
    floor.Kill();
    await floor.WaitForExitAsync();
}

await app.StopAsync();
Directory.Delete(dir, recursive: true);
return 0;

// Polls the socket every 2 ms until a call answers (GetBlessings for the agent): the moment an app could first use it.
static async Task<bool> WaitServingAsync(string socket, TimeSpan timeout, Func<Grpc.Net.Client.GrpcChannel, DateTime, Task<bool>> answers)
{
    var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
    while (Stopwatch.GetTimestamp() < deadline)
    {
        if (File.Exists(socket))
        {
            using var channel = PodAgentSocket.CreateChannel(socket);
            try
            {
                if (await answers(channel, DateTime.UtcNow.AddSeconds(5)))
                {
                    return true;
                }
            }
            catch (Grpc.Core.RpcException)
            {
            }
        }

        await Task.Delay(2);
    }

    return false;
}

static Process Refreshed(Process process)
{
    process.Refresh();
    return process;
}

// VmRSS (resident now, split into anonymous memory and mapped files such as the binary) and VmHWM (peak resident) of
// a process, from /proc/<pid>/status.
static string ProcStatus(int pid)
{
    var fields = File.ReadAllLines($"/proc/{pid}/status")
        .Select(line => line.Split(':', 2))
        .Where(parts => parts.Length == 2 && parts[0] is "VmRSS" or "VmHWM" or "RssAnon" or "RssFile")
        .ToDictionary(parts => parts[0], parts => long.Parse(parts[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0);
    return $"VmRSS {fields["VmRSS"]:0.0} MiB (anonymous {fields["RssAnon"]:0.0}, files {fields["RssFile"]:0.0}), VmHWM {fields["VmHWM"]:0.0} MiB";
}

static async Task<(long Count, List<double> LatenciesMs)> RunAsync(int concurrency, TimeSpan duration, Func<Task> call)
{
    long count = 0;
    var all = new List<double>();
    var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        var mine = new List<double>();
        while (Stopwatch.GetTimestamp() < end)
        {
            var t = Stopwatch.GetTimestamp();
            await call();
            mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        Interlocked.Add(ref count, mine.Count);
        lock (all) all.AddRange(mine);
    })).ToArray();
    await Task.WhenAll(workers);
    return (count, all);
}

static double Percentile(List<double> values, double p)
{
    values.Sort();
    return values.Count == 0 ? 0 : values[Math.Min(values.Count - 1, (int)(p * values.Count))];
}

/// <summary>When the identity service answered one replica's SeekBlessings, on the benchmark's clock.</summary>
internal sealed class IssuedToReplica(string replica)
{
    private long _timestamp;

    public string Replica { get; } = replica;

    public void Record() => Interlocked.CompareExchange(ref _timestamp, Stopwatch.GetTimestamp(), 0);

    /// <summary>Time from <paramref name="clock"/>'s start to the issuance.</summary>
    public TimeSpan At(Stopwatch clock) => _timestamp == 0
        ? throw new InvalidOperationException($"no blessings were issued to {Replica}")
        : clock.Elapsed - Stopwatch.GetElapsedTime(_timestamp);
}

internal sealed class IssuedToReplicaInterceptor(IssuedToReplica issued) : Grpc.Core.Interceptors.Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, Grpc.Core.ServerCallContext context,
        Grpc.Core.UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var response = await continuation(request, context);
        if (request is SeekBlessingsRequest seek && seek.Replica == issued.Replica)
        {
            issued.Record();
        }

        return response;
    }
}
