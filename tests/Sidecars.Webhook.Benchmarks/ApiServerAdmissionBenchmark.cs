using System.Globalization;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
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
    public static async Task<int> RunAsync(int pods, CancellationToken cancellationToken)
    {
        await using var controlPlane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions(), cancellationToken);
        using var client = controlPlane.CreateClient();
        await using var webhook = await EmbeddedWebhook.StartAsync(
            controlPlane.KubeconfigPath,
            BenchInjection.Settings,
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
        var metrics = await controlPlane.ReadWebhookAdmissionMetricsAsync("pods.sidecars-webhook.sidecars.io", cancellationToken);
        Console.WriteLine($"{pods} pod creates (server-side dry run) through kube-apiserver {controlPlane.ApiServerUrl} with the webhook registered, {elapsed.TotalSeconds:F1} s");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{WebhookAdmissionMetrics.Metric} (type=admit, operation=CREATE): {metrics.Count} calls ({(double)metrics.Count / pods:F2} per pod), mean {1000 * metrics.MeanSeconds:F2} ms per call, {1000 * metrics.SumSeconds / pods:F2} ms per pod"));
        foreach (var (le, cumulative) in metrics.Buckets)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  <= {le * 1000,7:F0} ms: {100.0 * cumulative / Math.Max(metrics.Count, 1),6:F1} %"));
        }

        return metrics.Count >= pods ? 0 : 1;
    }

    internal static V1Pod TypicalPod(int i) => new()
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
}
