using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Sidecars.Certificates.Issuing;
using Sidecars.Testing.Agent;
using Sidecars.Webhook.Benchmarks;
using Sidecars.Webhook.Tls;

// Usage:
//   run   --webhook <sidecars-webhook.dll> --review <AdmissionReview.json> [--rate 2000] [--seconds 10] [--warmup 30] [--rounds 3] [--connections 1] [--http 2.0|1.1]
//   apiserver [--pods 300]   pod creates through a local kube-apiserver; its own webhook latency histogram
//   engine --review <AdmissionReview.json> [--iterations 20000]   the engine alone: time and allocation per step
//   compare --webhook-dir <published webhook> --settings <appsettings.Production.json> --floor <Go floor binary> --review <json>
//           [--rounds 3] [--seconds 10] [--warmup 10] [--threads 1] [--connections 8] [--pods 200]
//           [--kestrel-aot <NativeAOT sidecars-kestrel-floor>]   the Kestrel floor published NativeAOT, measured too
//           [--variants "wks:DOTNET_gcServer=0;pgo-off:DOTNET_TieredPGO=0"]   more webhook processes with runtime settings of their own
//           (BENCH_WEBHOOK_DIR=<dir> in a variant starts that variant from another published directory, e.g. ReadyToRun)
//           the shipped webhook against a Go floor (same patch), a Go no-op and a Kestrel no-op: wrk, memory, apiserver
var options = Arguments.Parse(args.Skip(1));
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

switch (args.FirstOrDefault())
{
    case "run":
        return await RunAsync(options, stop.Token);
    case "engine":
        EngineBenchmark.Run(await TypicalReviewAsync(options["review"], stop.Token),
            BenchInjection.Options(),
            int.Parse(options.GetValueOrDefault("iterations", "20000"), CultureInfo.InvariantCulture));
        return 0;
    case "compare":
        return await ComparisonBenchmark.RunAsync(
            new ComparisonSettings(
                options["webhook-dir"], options["settings"], options["floor"], await TypicalReviewAsync(options["review"], stop.Token),
                Int("rounds", 3), TimeSpan.FromSeconds(Int("seconds", 10)), TimeSpan.FromSeconds(Int("warmup", 10)),
                Int("threads", 1), Int("connections", 8), Int("pods", 200), WebhookVariant.Parse(options.GetValueOrDefault("variants")),
                options.GetValueOrDefault("kestrel-aot")),
            stop.Token);
    case "apiserver":
        return await ApiServerAdmissionBenchmark.RunAsync(int.Parse(options.GetValueOrDefault("pods", "300"), CultureInfo.InvariantCulture), stop.Token);
    default:
        Console.Error.WriteLine("usage: run --webhook <dll> --review <json> [--rate N] [--seconds N] | compare ... | engine ... | apiserver ...");
        return 2;
}

int Int(string name, int fallback) => int.Parse(options.GetValueOrDefault(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options, CancellationToken cancellationToken)
{
    var rate = int.Parse(options.GetValueOrDefault("rate", "2000"), CultureInfo.InvariantCulture);
    var seconds = int.Parse(options.GetValueOrDefault("seconds", "10"), CultureInfo.InvariantCulture);
    var warmUp = int.Parse(options.GetValueOrDefault("warmup", "30"), CultureInfo.InvariantCulture);
    var rounds = int.Parse(options.GetValueOrDefault("rounds", "3"), CultureInfo.InvariantCulture);
    var connections = int.Parse(options.GetValueOrDefault("connections", "1"), CultureInfo.InvariantCulture);
    var http = Version.Parse(options.GetValueOrDefault("http", "2.0"));
    var directory = Directory.CreateTempSubdirectory("sidecars-bench-").FullName;
    var authority = CertificateIssuer.CreateAuthority("bench-ca", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
    var serving = CertificateIssuer.IssueServing(authority, ["localhost"], [IPAddress.Loopback], DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromHours(2));
    var cert = Path.Combine(directory, "tls.crt");
    var key = Path.Combine(directory, "tls.key");
    await File.WriteAllTextAsync(cert, serving.CertificatePem, cancellationToken);
    await File.WriteAllTextAsync(key, serving.KeyPem, cancellationToken);

    var body = await TypicalReviewAsync(options["review"], cancellationToken);

    var webhookPort = FreePort.Next();
    var noopPort = FreePort.Next();
    using var webhook = Start("dotnet", [options["webhook"], "--Sidecars:Webhook:Address=127.0.0.1", $"--Sidecars:Webhook:Port={webhookPort}", "--Sidecars:Webhook:MetricsPort=0",
        $"--Sidecars:Webhook:CertificateFile={cert}", $"--Sidecars:Webhook:KeyFile={key}", .. BenchInjection.Arguments, "--Logging:LogLevel:Default=Warning"]);
    using var noop = Start("dotnet", [KestrelFloor.Path, "--port", noopPort.ToString(CultureInfo.InvariantCulture), "--cert", cert, "--key", key]);
    try
    {
        using var ca = authority.Load();
        var webhookUrl = new Uri($"https://127.0.0.1:{webhookPort}/mutate");
        var noopUrl = new Uri($"https://127.0.0.1:{noopPort}/mutate");
        await WaitListeningAsync(webhookPort, cancellationToken);
        await WaitListeningAsync(noopPort, cancellationToken);

        var shape = new LoadShape(rate, TimeSpan.FromSeconds(seconds) / rounds, rounds, TimeSpan.FromSeconds(warmUp), connections, http);
        using var baseline = new LoadDriver("no-op endpoint", noop, noopUrl, null, body, ca, shape);
        using var ours = new LoadDriver("sidecars webhook", webhook, webhookUrl, new Uri($"https://127.0.0.1:{webhookPort}/metrics"), body, ca, shape);
        await baseline.WarmUpAsync(cancellationToken);
        await ours.WarmUpAsync(cancellationToken);
        for (var round = 0; round < rounds; round++)
        {
            await baseline.MeasureRoundAsync(cancellationToken);
            await ours.MeasureRoundAsync(cancellationToken);
        }

        var results = new[] { baseline.Result(), ours.Result() };
        Console.WriteLine($"offered load: {rate} requests/s, {seconds} s measured per endpoint in {rounds} interleaved rounds after {warmUp} s of warm-up each, " +
            $"{connections} HTTP/{http} connections over TLS on loopback, body {body.Length} bytes");
        Console.WriteLine($"{"endpoint",-18} {"sent",7} {"failed",7} {"req/s",9} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"cpu us/req",11}");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Name,-18} {r.Sent,7} {r.Failed,7} {r.RequestsPerSecond,9:F0} {r.P50Ms,8:F3} {r.P99Ms,8:F3} {r.MaxMs,8:F3} {r.ServerCpuMicrosecondsPerRequest,11:F0}"));
        }

        var (b, o) = (results[0], results[1]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p99 ratio (webhook / no-op): {o.P99Ms / b.P99Ms:F2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput ratio (webhook / no-op): {o.RequestsPerSecond / b.RequestsPerSecond:F2}"));
        return o.Failed == 0 && b.Failed == 0 ? 0 : 1;
    }
    finally
    {
        Kill(webhook);
        Kill(noop);
        Directory.Delete(directory, true);
    }
}

// A typical opted-in pod: identity, peer network, registry rewrites, PVC, env settings.
static async Task<string> TypicalReviewAsync(string path, CancellationToken cancellationToken)
{
    var review = JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken))!;
    var metadata = review["request"]!["object"]!["metadata"]!;
    metadata["annotations"] ??= new JsonObject();
    metadata["annotations"]!["sidecars.io/inject"] = "true";
    metadata["annotations"]!["sidecars.io/blessing"] = "jupyter";
    metadata["annotations"]!["sidecars.io/settings"] = "{\"jupyter\":{\"HOME_SERVER_HOSTNAME\":\"new\"}}";
    metadata["labels"] ??= new JsonObject();
    metadata["labels"]!["klight.networkId"] = "net-1";
    return review.ToJsonString();
}

static Process Start(string file, IEnumerable<string> arguments)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = false, RedirectStandardError = false };
    foreach (var argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    return Process.Start(info)!;
}

static void Kill(Process process)
{
    if (!process.HasExited)
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }
}

static async Task WaitListeningAsync(int port, CancellationToken cancellationToken)
{
    for (var attempt = 0; attempt < 300; attempt++)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return;
        }
        catch (SocketException)
        {
            await Task.Delay(100, cancellationToken);
        }
    }

    throw new TimeoutException($"nothing listens on 127.0.0.1:{port} after 30 s");
}

internal static class Arguments
{
    public static Dictionary<string, string> Parse(IEnumerable<string> args)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? key = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                key = arg[2..];
                result[key] = "true";
            }
            else if (key is not null)
            {
                result[key] = arg;
                key = null;
            }
        }

        return result;
    }
}

/// <summary>The Kestrel no-op floor, built with the benchmark and copied next to it.</summary>
internal static class KestrelFloor
{
    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "sidecars-kestrel-floor.dll");
}
