using System.Diagnostics.Metrics;

namespace Sidecars.Kubernetes.Controllers;

/// <summary>
/// Metrics of every <see cref="WorkQueue{TKey}"/>, tagged with the queue's name (declared once). A .NET meter, so
/// that this library needs no exporter; the hosts publish it on /metrics.
/// </summary>
internal static class WorkQueueMetrics
{
    public const string MeterName = "Sidecars.WorkQueue";

    private static readonly Meter Meter = new(MeterName);

    public static readonly UpDownCounter<long> Depth = Meter.CreateUpDownCounter<long>(
        "sidecars_workqueue_depth", description: "Keys waiting to be processed.");

    public static readonly Counter<long> Adds = Meter.CreateCounter<long>(
        "sidecars_workqueue_adds", description: "Keys added (a key already waiting is not added again).");

    public static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "sidecars_workqueue_retries", description: "Keys put back after a failure, with backoff.");

    public static readonly Histogram<double> QueueSeconds = Meter.CreateHistogram<double>(
        "sidecars_workqueue_queue_duration", unit: "s", description: "Time a key waited in the queue before it was processed.");

    public static readonly Histogram<double> WorkSeconds = Meter.CreateHistogram<double>(
        "sidecars_workqueue_work_duration", unit: "s", description: "Time one key took to process.");
}
