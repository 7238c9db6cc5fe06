using Prometheus;

namespace Sidecars.Clusters;

/// <summary>Metrics of the clusters capability (declared once).</summary>
internal static class ClusterMetrics
{
    public static readonly Counter Operations = Prometheus.Metrics.CreateCounter(
        "sidecars_cluster_operations_total", "Cluster creates and deletes by outcome.", "operation", "outcome");

    public static readonly Histogram WaitSeconds = Prometheus.Metrics.CreateHistogram(
        "sidecars_cluster_wait_seconds", "Time callers waited for a cluster outcome.",
        new HistogramConfiguration { LabelNames = ["operation"], Buckets = Histogram.ExponentialBuckets(0.05, 2, 14) });

    public static readonly Gauge Clusters = Prometheus.Metrics.CreateGauge(
        "sidecars_clusters", "Clusters known to the agent, by state.", "state");
}
