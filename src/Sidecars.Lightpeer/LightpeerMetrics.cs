using Prometheus;

namespace Sidecars.Lightpeer;

/// <summary>Metrics of the lightpeer role (declared once).</summary>
internal static class LightpeerMetrics
{
    public static readonly Gauge Peers = Prometheus.Metrics.CreateGauge("sidecars_lightpeer_peers", "Peers this lightpeer knows.");

    public static readonly Gauge Member = Prometheus.Metrics.CreateGauge(
        "sidecars_lightpeer_member", "1 once this lightpeer is in a network (joined or called by a member), else 0; it is Ready only then.");

    public static readonly Counter Exchanges = Prometheus.Metrics.CreateCounter(
        "sidecars_lightpeer_exchanges_total", "Peer-set exchanges by direction and outcome.", "direction", "outcome");

    public static readonly Counter Removed = Prometheus.Metrics.CreateCounter(
        "sidecars_lightpeer_peers_removed_total", "Peers removed, by reason.", "reason");

    public static readonly Counter TakenBack = Prometheus.Metrics.CreateCounter(
        "sidecars_lightpeer_peers_taken_back_total", "Peers dropped for not answering that answered a later check.");
}
