using Prometheus;

namespace Sidecars.Networks;

/// <summary>Metrics of the network controller (declared once).</summary>
internal static class NetworkMetrics
{
    public static readonly Gauge Size = Prometheus.Metrics.CreateGauge(
        "sidecars_network_members", "Members of each peer network.", "network");

    public static readonly Counter Joins = Prometheus.Metrics.CreateCounter(
        "sidecars_network_joins_total", "Pods joined to a network, by how (joined: through a member; first: as the first member; rejoined: a member whose lightpeer restarted outside the network).", "outcome");

    public static readonly Histogram JoinSeconds = Prometheus.Metrics.CreateHistogram(
        "sidecars_network_join_duration_seconds", "Time from a pod being seen Ready to its lightpeer having joined.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    public static readonly Counter JoinFailures = Prometheus.Metrics.CreateCounter(
        "sidecars_network_join_failures_total", "Failed join attempts, by reason.", "reason");

    public static readonly Counter Purges = Prometheus.Metrics.CreateCounter(
        "sidecars_network_purges_total", "Members removed, by reason.", "reason");
}
