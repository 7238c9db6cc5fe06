using Prometheus;

namespace Sidecars.Kubernetes.Controllers;

/// <summary>Metrics of every <see cref="WorkQueue{TKey}"/>, labelled by the queue's name (declared once).</summary>
internal static class WorkQueueMetrics
{
    public static readonly Gauge Depth = Metrics.CreateGauge(
        "sidecars_workqueue_depth", "Keys waiting to be processed.", "queue");

    public static readonly Counter Adds = Metrics.CreateCounter(
        "sidecars_workqueue_adds_total", "Keys added (a key already waiting is not added again).", "queue");

    public static readonly Counter Retries = Metrics.CreateCounter(
        "sidecars_workqueue_retries_total", "Keys put back after a failure, with backoff.", "queue");

    public static readonly Histogram QueueSeconds = Metrics.CreateHistogram(
        "sidecars_workqueue_queue_duration_seconds", "Time a key waited in the queue before it was processed.",
        new HistogramConfiguration { LabelNames = ["queue"], Buckets = Histogram.ExponentialBuckets(0.0001, 4, 10) });

    public static readonly Histogram WorkSeconds = Metrics.CreateHistogram(
        "sidecars_workqueue_work_duration_seconds", "Time one key took to process.",
        new HistogramConfiguration { LabelNames = ["queue"], Buckets = Histogram.ExponentialBuckets(0.0001, 4, 10) });
}
