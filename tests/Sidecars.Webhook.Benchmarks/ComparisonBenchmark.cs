using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Sidecars.Certificates.Issuing;
using Sidecars.Conventions;
using Sidecars.LocalCluster;
using Sidecars.Testing.Agent;
using Sidecars.Webhook.Registration;

namespace Sidecars.Webhook.Benchmarks;

/// <summary>Where the pieces of <see cref="ComparisonBenchmark"/> come from and how hard it drives them.</summary>
internal sealed record ComparisonSettings(
    string WebhookDirectory, string SettingsFile, string FloorBinary, string Review,
    int Rounds, TimeSpan Round, TimeSpan WarmUp, int Threads, int Connections, int Pods,
    IReadOnlyList<WebhookVariant> Variants, string? KestrelAotBinary);

/// <summary>Another webhook process from the same build with runtime settings of its own (GC, tiering), measured alongside.</summary>
internal sealed record WebhookVariant(string Name, IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>Parses <c>name:KEY=VALUE,KEY=VALUE;name2:KEY=VALUE</c>.</summary>
    public static IReadOnlyList<WebhookVariant> Parse(string? text) =>
        string.IsNullOrWhiteSpace(text)
            ? []
            : text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v =>
            {
                var (name, settings) = (v[..v.IndexOf(':', StringComparison.Ordinal)], v[(v.IndexOf(':', StringComparison.Ordinal) + 1)..]);
                return new WebhookVariant(name, settings.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .ToDictionary(kv => kv[..kv.IndexOf('=', StringComparison.Ordinal)], kv => kv[(kv.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal));
            }).ToList();
}

/// <summary>
/// The Sidecars webhook, published and started as its image starts it (the NativeAOT <c>sidecars-webhook</c> in its own
/// directory, <c>appsettings.json</c> next to it, deploy/'s settings as <c>appsettings.Production.json</c>), against the
/// floors, each a process of its own serving HTTPS on loopback: a Go net/http webhook that parses the review and answers
/// with the very response the Sidecars webhook gave for it, a Go no-op, and a Kestrel no-op. Saturated throughput from
/// wrk and resident memory in interleaved rounds; then, on a local control plane, what kube-apiserver itself records
/// for each endpoint registered in turn. Ratios of medians come last.
/// </summary>
internal static class ComparisonBenchmark
{
    public const string UidPlaceholder = "00000000-0000-0000-0000-floorfloor00";
    private const string GoFloor = "go floor (same patch)";
    private const string GoNoop = "go no-op";
    private const string KestrelNoop = "kestrel no-op";
    private const string KestrelAot = "kestrel no-op (AOT)";

    /// <summary>The NativeAOT Kestrel no-op with the webhook's gen0 budget (webhook/Sidecars.Webhook.Host.csproj's GCgen0size).</summary>
    private const string KestrelAotAlike = "kestrel AOT, gen0 4M";
    private const string Sidecars = "sidecars webhook";
    private const string SidecarsUnknown = "sidecars, unknown ns";

    private static readonly Dictionary<string, string> WebhookGcSettings = new(StringComparer.Ordinal) { ["DOTNET_GCgen0size"] = "400000" };

    /// <summary>A variant's pseudo-variable naming another published webhook directory (ReadyToRun, trimmed...) to start it from.</summary>
    private const string VariantDirectory = "BENCH_WEBHOOK_DIR";

    public static async Task<int> RunAsync(ComparisonSettings settings, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("sidecars-compare-").FullName;
        try
        {
            return await RunInAsync(settings, directory, cancellationToken);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    private static async Task<int> RunInAsync(ComparisonSettings settings, string directory, CancellationToken cancellationToken)
    {
        var authority = CertificateIssuer.CreateAuthority("bench-ca", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
        var serving = CertificateIssuer.IssueServing(authority, ["localhost"], [IPAddress.Loopback], DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromHours(4));
        var cert = Path.Combine(directory, "tls.crt");
        var key = Path.Combine(directory, "tls.key");
        await File.WriteAllTextAsync(cert, serving.CertificatePem, cancellationToken);
        await File.WriteAllTextAsync(key, serving.KeyPem, cancellationToken);
        foreach (var webhookDirectory in settings.Variants.Select(v => v.Environment.GetValueOrDefault(VariantDirectory)).OfType<string>().Append(settings.WebhookDirectory).Distinct())
        {
            File.Copy(settings.SettingsFile, Path.Combine(webhookDirectory, "appsettings.Production.json"), overwrite: true);
        }
        using var ca = authority.Load();
        using var http = Client(ca);

        var review = JsonNode.Parse(settings.Review)!;
        var reviewNamespace = review["request"]!["namespace"]!.GetValue<string>();

        LocalControlPlane? controlPlane = null;
        try
        {
            controlPlane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions(), cancellationToken);
        }
        catch (FileNotFoundException e)
        {
            Console.WriteLine($"no local control plane ({e.Message}): the webhook runs without a cluster, and the unknown-namespace and apiserver steps are skipped");
        }

        await using var _ = controlPlane;
        if (controlPlane is not null)
        {
            // What the webhook finds in a cluster: its own namespace (leader election Lease), the review's namespace,
            // and an opted-in namespace for the apiserver step.
            await controlPlane.CreateNamespaceAsync("sidecars-system", ct: cancellationToken);
            await controlPlane.CreateNamespaceAsync(reviewNamespace, ct: cancellationToken);
            await controlPlane.CreateNamespaceAsync(ApiServerNamespace,
                new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled }, cancellationToken);
        }

        Task<ServedProcess> StartWebhookAsync(string name, IReadOnlyDictionary<string, string> environment)
        {
            var port = FreePort.Next();
            var webhookDirectory = environment.GetValueOrDefault(VariantDirectory, settings.WebhookDirectory);
            // As the image starts it: the NativeAOT executable when published so, else the managed build under dotnet.
            var native = Path.Combine(webhookDirectory, "sidecars-webhook");
            var (command, first) = File.Exists(native) ? (native, Array.Empty<string>()) : ("dotnet", ["sidecars-webhook.dll"]);
            return ServedProcess.StartAsync(name, command,
                [
                    .. first, "--Sidecars:Webhook:Address=127.0.0.1", $"--Sidecars:Webhook:Port={port}",
                    $"--Sidecars:Webhook:MetricsPort={FreePort.Next()}", $"--Sidecars:Webhook:CertificateFile={cert}", $"--Sidecars:Webhook:KeyFile={key}",
                    .. controlPlane is null ? Array.Empty<string>() : [$"--Sidecars:Kubernetes:KubeconfigPath={controlPlane.KubeconfigPath}"],
                ],
                port, cancellationToken, webhookDirectory,
                new Dictionary<string, string>(environment.Where(e => e.Key != VariantDirectory)) { ["DOTNET_ENVIRONMENT"] = "Production" });
        }

        using var webhook = await StartWebhookAsync(Sidecars, new Dictionary<string, string>());
        var variants = new List<ServedProcess>();
        try
        {
            foreach (var variant in settings.Variants)
            {
                variants.Add(await StartWebhookAsync("sidecars " + variant.Name, variant.Environment));
            }

            return await MeasureAsync(settings, directory, controlPlane, http, authority.CertificatePem, cert, key, review, webhook, variants, cancellationToken);
        }
        finally
        {
            variants.ForEach(v => v.Dispose());
        }
    }

    private static async Task<int> MeasureAsync(
        ComparisonSettings settings, string directory, LocalControlPlane? controlPlane, HttpClient http, string caPem, string cert, string key,
        JsonNode review, ServedProcess webhook, List<ServedProcess> variants, CancellationToken cancellationToken)
    {

        var (patched, injected) = await ResponsesAsync(http, webhook.MutateUrl, review, directory, "load", cancellationToken);
        Console.WriteLine($"the Go floor answers with the webhook's own responses: {patched.Length} bytes for the review, {injected.Length} bytes once the pod carries {SidecarsAnnotations.Injected}");
        var floorPort = FreePort.Next();
        using var floor = await ServedProcess.StartAsync(GoFloor, settings.FloorBinary,
            ["-addr", $"127.0.0.1:{floorPort}", "-cert", cert, "-key", key, "-response", patched.Path, "-injected-response", injected.Path], floorPort, cancellationToken);
        var goNoopPort = FreePort.Next();
        using var goNoop = await ServedProcess.StartAsync(GoNoop, settings.FloorBinary, ["-addr", $"127.0.0.1:{goNoopPort}", "-cert", cert, "-key", key], goNoopPort, cancellationToken);
        var kestrelPort = FreePort.Next();
        using var kestrel = await ServedProcess.StartAsync(KestrelNoop, "dotnet",
            [KestrelFloor.Path, "--port", kestrelPort.ToString(CultureInfo.InvariantCulture), "--cert", cert, "--key", key],
            kestrelPort, cancellationToken);

        // The NativeAOT Kestrel no-op twice: with the runtime's defaults, and configured as the webhook is.
        async Task<ServedProcess?> StartKestrelAotAsync(string name, IReadOnlyDictionary<string, string>? environment)
        {
            if (settings.KestrelAotBinary is null)
            {
                return null;
            }

            var port = FreePort.Next();
            return await ServedProcess.StartAsync(name, settings.KestrelAotBinary,
                ["--port", port.ToString(CultureInfo.InvariantCulture), "--cert", cert, "--key", key], port, cancellationToken, environment: environment);
        }

        using var kestrelAot = await StartKestrelAotAsync(KestrelAot, null);
        using var kestrelAotAlike = await StartKestrelAotAsync(KestrelAotAlike, WebhookGcSettings);
        ServedProcess[] kestrelAots = [.. new[] { kestrelAot, kestrelAotAlike }.OfType<ServedProcess>()];
        var body = Path.Combine(directory, "review.json");
        await File.WriteAllTextAsync(body, settings.Review, cancellationToken);
        var unknownBody = Path.Combine(directory, "review-unknown-namespace.json");
        var unknown = review.DeepClone();
        unknown["request"]!["namespace"] = "@NS@";
        if (unknown["request"]!["object"]!["metadata"]!["namespace"] is not null)
        {
            unknown["request"]!["object"]!["metadata"]!["namespace"] = "@NS@";
        }

        await File.WriteAllTextAsync(unknownBody, unknown.ToJsonString(), cancellationToken);

        ServedProcess[] servers = [floor, goNoop, kestrel, .. kestrelAots, webhook, .. variants];
        foreach (var server in servers)
        {
            await ReviewAsync(http, server.MutateUrl, settings.Review, cancellationToken);
            server.Idle = Memory.Read(server.Process.Id);
        }

        var loads = new List<(ServedProcess Server, string Label, string Body, bool Unique)>
        {
            (floor, GoFloor, body, false), (goNoop, GoNoop, body, false), (kestrel, KestrelNoop, body, false),
        };
        loads.AddRange(kestrelAots.Select(k => (k, k.Name, body, false)));

        loads.Add((webhook, Sidecars, body, false));
        loads.AddRange(variants.Select(v => (v, v.Name, body, false)));
        if (controlPlane is not null)
        {
            loads.Add((webhook, SidecarsUnknown, unknownBody, true));
        }

        var results = loads.ToDictionary(l => l.Label, _ => new List<WrkResult>());
        if (Wrk.Available())
        {
            foreach (var load in loads)
            {
                await Wrk.RunAsync(load.Server, load.Body, load.Unique, settings.Threads, settings.Connections, settings.WarmUp, cancellationToken);
            }

            for (var round = 0; round < settings.Rounds; round++)
            {
                foreach (var load in loads)
                {
                    results[load.Label].Add(await Wrk.RunAsync(load.Server, load.Body, load.Unique, settings.Threads, settings.Connections, settings.Round, cancellationToken));
                }
            }

            PrintLoad(settings, servers, loads.Select(l => (l.Server, l.Label)).ToList(), results);
        }
        else
        {
            Console.WriteLine("wrk is not installed (Debian: apt-get install wrk): the throughput step is skipped");
        }

        if (controlPlane is null)
        {
            return 0;
        }

        return await ApiServerStepAsync(controlPlane, settings, http, caPem, cert, key, directory, floor, goNoop, kestrel, webhook, cancellationToken);
    }

    private const string ApiServerNamespace = "bench";

    private static void PrintLoad(
        ComparisonSettings settings, ServedProcess[] servers, List<(ServedProcess Server, string Label)> loads, Dictionary<string, List<WrkResult>> results)
    {
        Console.WriteLine();
        Console.WriteLine($"== saturated throughput: wrk -t{settings.Threads} -c{settings.Connections}, HTTPS (HTTP/1.1 keep-alive) on loopback, " +
            $"{settings.Rounds} interleaved rounds of {settings.Round.TotalSeconds:F0} s after {settings.WarmUp.TotalSeconds:F0} s of warm-up each; min / median / max over rounds");
        Console.WriteLine($"{"endpoint",-22} {"req/s",-22} {"p50 ms",-20} {"p99 ms",-20} {"errors",7}");
        foreach (var (_, label) in loads)
        {
            var r = results[label];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label,-22} {Spread(r.Select(x => x.RequestsPerSecond), "F0"),-22} {Spread(r.Select(x => x.P50Ms), "F2"),-20} {Spread(r.Select(x => x.P99Ms), "F2"),-20} {r.Sum(x => x.Errors),7}"));
        }

        Console.WriteLine();
        Console.WriteLine("== resident memory (/proc/<pid>/status), MiB: idle = after start and one review; loaded = highest VmRSS sampled every 250 ms under load; VmHWM at the end");
        Console.WriteLine($"{"process",-22} {"VmRSS idle",11} {"VmRSS loaded",13} {"VmHWM",8} {"log lines",10}");
        foreach (var server in servers)
        {
            var end = Memory.Read(server.Process.Id);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{server.Name,-22} {server.Idle.RssMiB,11:F1} {server.LoadedRssMiB,13:F1} {end.HighWaterMiB,8:F1} {server.OutputLines,10}"));
        }

        Console.WriteLine();
        Console.WriteLine("== ratios of medians (throughput: higher is better for the webhook; p99 and memory: lower is better)");
        double Median(string label, Func<WrkResult, double> of) => MedianOf(results[label].Select(of));
        foreach (var floor in new[] { GoFloor, GoNoop, KestrelNoop, KestrelAot }.Where(results.ContainsKey))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"webhook / {floor}: throughput {Median(Sidecars, x => x.RequestsPerSecond) / Median(floor, x => x.RequestsPerSecond):F2}, p99 {Median(Sidecars, x => x.P99Ms) / Median(floor, x => x.P99Ms):F2}"));
        }

        foreach (var variant in servers.SkipWhile(s => s.Name != Sidecars).Skip(1))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{variant.Name} / go floor (same patch): throughput {Median(variant.Name, x => x.RequestsPerSecond) / Median(GoFloor, x => x.RequestsPerSecond):F2}, p99 {Median(variant.Name, x => x.P99Ms) / Median(GoFloor, x => x.P99Ms):F2}; " +
                $"VmRSS loaded / kestrel no-op {variant.LoadedRssMiB / servers.Single(s => s.Name == KestrelNoop).LoadedRssMiB:F2}"));
        }

        foreach (var aot in servers.Where(s => s.Name is KestrelAot or KestrelAotAlike))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"webhook / {aot.Name}: VmRSS loaded {servers.Single(s => s.Name == Sidecars).LoadedRssMiB / aot.LoadedRssMiB:F2}, idle {servers.Single(s => s.Name == Sidecars).Idle.RssMiB / aot.Idle.RssMiB:F2}"));
        }

        var kestrel = servers.Single(s => s.Name == KestrelNoop);
        var webhook = servers.Single(s => s.Name == Sidecars);
        var go = servers.Single(s => s.Name == GoFloor);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"webhook / kestrel no-op: VmRSS loaded {webhook.LoadedRssMiB / kestrel.LoadedRssMiB:F2}, idle {webhook.Idle.RssMiB / kestrel.Idle.RssMiB:F2}; webhook / go floor: VmRSS loaded {webhook.LoadedRssMiB / go.LoadedRssMiB:F2}"));
        if (results.ContainsKey(SidecarsUnknown))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"webhook, unknown namespaces / known namespace: throughput {Median(SidecarsUnknown, x => x.RequestsPerSecond) / Median(Sidecars, x => x.RequestsPerSecond):F2}, p99 {Median(SidecarsUnknown, x => x.P99Ms) / Median(Sidecars, x => x.P99Ms):F2}"));
        }
    }

    /// <summary>
    /// The same pod created N times (server-side dry run) with each endpoint registered in turn, in interleaved rounds;
    /// the apiserver's own apiserver_admission_webhook_admission_duration_seconds per endpoint.
    /// </summary>
    private static async Task<int> ApiServerStepAsync(
        LocalControlPlane controlPlane, ComparisonSettings settings, HttpClient http, string caPem, string cert, string key, string directory,
        ServedProcess floor, ServedProcess goNoop, ServedProcess kestrel, ServedProcess webhook, CancellationToken cancellationToken)
    {
        using var client = controlPlane.CreateClient();
        var pod = ApiServerAdmissionBenchmark.TypicalPod(0);

        // The review the apiserver sends for this pod (defaults and the service account token volume applied), and the
        // webhook's answers to it, for a Go floor of its own.
        string captured;
        await using (var capture = await CaptureEndpoint.StartAsync(cert, key, cancellationToken))
        {
            captured = await WithRegisteredAsync(controlPlane, client, "bench-capture", capture.Port, caPem, async () =>
            {
                await client.CoreV1.CreateNamespacedPodAsync(pod, ApiServerNamespace, dryRun: "All", cancellationToken: cancellationToken);
                return await capture.Review.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            }, cancellationToken);
        }

        var (patched, injected) = await ResponsesAsync(http, webhook.MutateUrl, JsonNode.Parse(captured)!, directory, "apiserver", cancellationToken);
        var apiFloorPort = FreePort.Next();
        using var apiFloor = await ServedProcess.StartAsync(GoFloor, settings.FloorBinary,
            ["-addr", $"127.0.0.1:{apiFloorPort}", "-cert", cert, "-key", key, "-response", patched.Path, "-injected-response", injected.Path], apiFloorPort, cancellationToken);

        var endpoints = new[] { (GoFloor, apiFloor), (GoNoop, goNoop), (KestrelNoop, kestrel), (Sidecars, webhook) };
        var perPod = endpoints.ToDictionary(e => e.Item1, _ => new List<double>());
        var callsPerPod = endpoints.ToDictionary(e => e.Item1, _ => new List<double>());
        for (var round = 0; round < settings.Rounds; round++)
        {
            foreach (var (label, server) in endpoints)
            {
                var name = "bench-" + label.Split(' ')[0] + "-" + (label == GoFloor ? "floor" : label == Sidecars ? "sidecars" : "noop");
                var (count, sum) = await WithRegisteredAsync(controlPlane, client, name, server.Port, caPem, async () =>
                {
                    var before = await controlPlane.ReadWebhookAdmissionMetricsAsync(HookName(name), cancellationToken);
                    for (var i = 0; i < settings.Pods; i++)
                    {
                        await client.CoreV1.CreateNamespacedPodAsync(pod, ApiServerNamespace, dryRun: "All", cancellationToken: cancellationToken);
                    }

                    var after = await controlPlane.ReadWebhookAdmissionMetricsAsync(HookName(name), cancellationToken);
                    return (after.Count - before.Count, after.SumSeconds - before.SumSeconds);
                }, cancellationToken);
                perPod[label].Add(1000 * sum / settings.Pods);
                callsPerPod[label].Add((double)count / settings.Pods);
            }
        }

        Console.WriteLine();
        Console.WriteLine($"== as kube-apiserver measures it: {settings.Pods} sequential creates of the same pod (server-side dry run) per endpoint and round, " +
            $"each endpoint registered in turn, {settings.Rounds} interleaved rounds; {WebhookAdmissionMetrics.Metric}, ms per pod create, min / median / max over rounds");
        Console.WriteLine($"{"endpoint",-22} {"ms per create",-22} {"calls per create",16}");
        foreach (var (label, _) in endpoints)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label,-22} {Spread(perPod[label], "F3"),-22} {MedianOf(callsPerPod[label]),16:F2}"));
        }

        foreach (var floorLabel in new[] { GoFloor, GoNoop, KestrelNoop })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"webhook / {floorLabel}: {MedianOf(perPod[Sidecars]) / MedianOf(perPod[floorLabel]):F2}"));
        }

        return callsPerPod.Values.All(c => c.All(x => x >= 1)) ? 0 : 1;
    }

    private static string HookName(string configuration) => "pods." + configuration + ".sidecars.io";

    /// <summary>
    /// Registers the endpoint, waits until the apiserver calls it, runs <paramref name="body"/>, deregisters it and waits
    /// until the apiserver no longer does, so that no create of one endpoint's turn reaches another.
    /// </summary>
    private static async Task<T> WithRegisteredAsync<T>(
        LocalControlPlane controlPlane, IKubernetes client, string name, int port, string caPem, Func<Task<T>> body, CancellationToken cancellationToken)
    {
        var probe = ApiServerAdmissionBenchmark.TypicalPod(0);
        await client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(
            WebhookConfigurationFactory.ForUrl(name, new Uri($"https://127.0.0.1:{port}"), caPem), cancellationToken: cancellationToken);
        try
        {
            await WaitForAsync(async () =>
            {
                var before = await controlPlane.ReadWebhookAdmissionMetricsAsync(HookName(name), cancellationToken);
                await client.CoreV1.CreateNamespacedPodAsync(probe, ApiServerNamespace, dryRun: "All", cancellationToken: cancellationToken);
                return (await controlPlane.ReadWebhookAdmissionMetricsAsync(HookName(name), cancellationToken)).Count > before.Count;
            }, $"the apiserver to call {name}", cancellationToken);
            return await body();
        }
        finally
        {
            await client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(name, cancellationToken: cancellationToken);
            await WaitForAsync(async () =>
            {
                var before = await controlPlane.ReadWebhookAdmissionMetricsAsync(HookName(name), cancellationToken);
                await client.CoreV1.CreateNamespacedPodAsync(probe, ApiServerNamespace, dryRun: "All", cancellationToken: cancellationToken);
                return (await controlPlane.ReadWebhookAdmissionMetricsAsync(HookName(name), cancellationToken)).Count == before.Count;
            }, $"the apiserver to stop calling {name}", cancellationToken);
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited 60 s for {what}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>
    /// The webhook's answers to the review, and to the same review once the pod carries the injected marker, with the
    /// uid replaced by the floor's placeholder; written to files for the Go floor.
    /// </summary>
    private static async Task<((string Path, int Length) Patched, (string Path, int Length) Injected)> ResponsesAsync(
        HttpClient http, Uri webhook, JsonNode review, string directory, string prefix, CancellationToken cancellationToken)
    {
        var uid = review["request"]!["uid"]!.GetValue<string>();
        var patched = await ReviewAsync(http, webhook, review.ToJsonString(), cancellationToken);
        if (JsonNode.Parse(patched)?["response"]?["patch"] is null)
        {
            throw new InvalidOperationException($"the webhook did not mutate the benchmark's pod: {patched}");
        }

        var marked = review.DeepClone();
        var metadata = marked["request"]!["object"]!["metadata"]!;
        metadata["annotations"] ??= new JsonObject();
        metadata["annotations"]![SidecarsAnnotations.Injected] = "true";
        var injected = await ReviewAsync(http, webhook, marked.ToJsonString(), cancellationToken);
        return (await WriteAsync(prefix + "-patched.json", patched), await WriteAsync(prefix + "-injected.json", injected));

        async Task<(string, int)> WriteAsync(string name, string response)
        {
            var path = Path.Combine(directory, name);
            await File.WriteAllTextAsync(path, response.Replace(uid, UidPlaceholder, StringComparison.Ordinal), cancellationToken);
            return (path, Encoding.UTF8.GetByteCount(response));
        }
    }

    private static async Task<string> ReviewAsync(HttpClient http, Uri url, string review, CancellationToken cancellationToken)
    {
        using var content = new StringContent(review, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(url, content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode ? text : throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}: {text}");
    }

    private static HttpClient Client(X509Certificate2 authority) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            },
        },
    })
    { Timeout = TimeSpan.FromSeconds(30) };

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Spread(IEnumerable<double> values, string format)
    {
        var sorted = values.Order().ToArray();
        return string.Join(" / ", new[] { sorted[0], MedianOf(sorted), sorted[^1] }.Select(v => v.ToString(format, CultureInfo.InvariantCulture)));
    }
}
