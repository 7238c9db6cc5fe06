using System.Globalization;
using k8s;
using k8s.Models;
using Sidecars.LocalCluster;
using Sidecars.Mutation;
using Sidecars.Webhook.Embedded;

namespace Sidecars.Webhook.Benchmarks;

/// <summary>
/// Pod creates through a real kube-apiserver with the webhook registered, and the time the apiserver itself records
/// for the webhook call (apiserver_admission_webhook_admission_duration_seconds).
/// </summary>
internal static class ApiServerAdmissionBenchmark
{
    private const string Metric = "apiserver_admission_webhook_admission_duration_seconds";

    public static async Task<int> RunAsync(int pods, CancellationToken cancellationToken)
    {
        await using var controlPlane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions(), cancellationToken);
        using var client = controlPlane.CreateClient();
        await using var webhook = await EmbeddedWebhook.StartAsync(
            controlPlane.KubeconfigPath,
            new Dictionary<string, string?>
            {
                ["Injection:Registry"] = "registry.bench/team",
                ["Injection:ImagePullSecret"] = "regcred",
                ["Injection:ClusterAgentAddress"] = "http://127.0.0.1:1",
            },
            cancellationToken);
        await webhook.RegisterAsync(client, "sidecars-webhook", cancellationToken: cancellationToken);
        var ns = "bench";
        await controlPlane.CreateNamespaceAsync(ns, new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled }, cancellationToken);
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < pods; i++)
        {
            await client.CoreV1.CreateNamespacedPodAsync(TypicalPod(i), ns, dryRun: "All", cancellationToken: cancellationToken);
        }

        var elapsed = started.Elapsed;
        using var metricsRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(controlPlane.ApiServerUrl + "/metrics"));
        metricsRequest.Headers.Authorization = new("Bearer", controlPlane.TokenFor(LocalControlPlane.AdminUser));
        using var metricsResponse = await client.HttpClient.SendAsync(metricsRequest, cancellationToken);
        var text = await metricsResponse.EnsureSuccessStatusCode().Content.ReadAsStringAsync(cancellationToken);
        var (count, sum, buckets) = Parse(text, "pods.sidecars-webhook.sidecars.io");
        Console.WriteLine($"{pods} pod creates (server-side dry run) through kube-apiserver {controlPlane.ApiServerUrl} with the webhook registered, {elapsed.TotalSeconds:F1} s");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Metric} (type=admit, operation=CREATE): count {count}, mean {1000 * sum / Math.Max(count, 1):F2} ms"));
        foreach (var (le, cumulative) in buckets)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  <= {le * 1000,7:F0} ms: {100.0 * cumulative / Math.Max(count, 1),6:F1} %"));
        }

        return count >= pods ? 0 : 1;
    }

    private static V1Pod TypicalPod(int i) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "bench-" + i.ToString(CultureInfo.InvariantCulture),
            Labels = new Dictionary<string, string> { [SidecarsLabels.NetworkId] = "net-1" },
            Annotations = new Dictionary<string, string>
            {
                [SidecarsAnnotations.Blessing] = "bench",
                [SidecarsAnnotations.Settings] = "{\"app\":{\"MODE\":\"bench\"}}",
            },
        },
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "app", Image = "LOCALREGISTRY/bench/app:1", Env = [new V1EnvVar { Name = "MODE", Value = "dev" }] }],
            Volumes = [new V1Volume { Name = "sciencedata", EmptyDir = new V1EmptyDirVolumeSource() }],
        },
    };

    /// <summary>Count, sum and cumulative buckets of the apiserver's histogram for one webhook's pod CREATE admits.</summary>
    internal static (long Count, double Sum, List<(double Le, long Cumulative)> Buckets) Parse(string exposition, string webhookName)
    {
        long count = 0;
        double sum = 0;
        var buckets = new List<(double, long)>();
        foreach (var line in exposition.Split('\n'))
        {
            if (!line.StartsWith(Metric, StringComparison.Ordinal) || !line.Contains($"name=\"{webhookName}\"", StringComparison.Ordinal)
                || !line.Contains("operation=\"CREATE\"", StringComparison.Ordinal) || !line.Contains("type=\"admit\"", StringComparison.Ordinal))
            {
                continue;
            }

            var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            if (line.StartsWith(Metric + "_count", StringComparison.Ordinal))
            {
                count += (long)value;
            }
            else if (line.StartsWith(Metric + "_sum", StringComparison.Ordinal))
            {
                sum += value;
            }
            else if (line.StartsWith(Metric + "_bucket", StringComparison.Ordinal))
            {
                var le = line[(line.IndexOf("le=\"", StringComparison.Ordinal) + 4)..];
                le = le[..le.IndexOf('"', StringComparison.Ordinal)];
                if (le != "+Inf")
                {
                    buckets.Add((double.Parse(le, CultureInfo.InvariantCulture), (long)value));
                }
            }
        }

        return (count, sum, buckets.GroupBy(b => b.Item1).Select(g => (g.Key, g.Sum(x => x.Item2))).OrderBy(b => b.Key).ToList());
    }
}
