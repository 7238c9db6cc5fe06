using Prometheus;

namespace Sidecars.PodAgent;

/// <summary>The pod-agent's metrics, declared once.</summary>
internal static class PodAgentMetrics
{
    public static readonly Counter Issuances = Metrics.CreateCounter(
        "sidecars_podagent_issuances_total", "Blessings received from the cluster agent.");

    public static readonly Counter Renewals = Metrics.CreateCounter(
        "sidecars_podagent_renewals_total", "Blessings renewed before expiry.");

    public static readonly Counter Failures = Metrics.CreateCounter(
        "sidecars_podagent_failures_total", "Failed SeekBlessings calls.", "reason");

    public static readonly Counter SocketCalls = Metrics.CreateCounter(
        "sidecars_podagent_socket_calls_total", "Calls served on the pod socket.", "method");

    public static readonly Counter StreamedSignatures = Metrics.CreateCounter(
        "sidecars_podagent_streamed_signatures_total", "Signatures made on SignStream streams.");

    public static readonly Counter StreamedRequests = Metrics.CreateCounter(
        "sidecars_podagent_streamed_requests_total", "Requests read on SignStream streams; one carries one payload or a batch of them.");
}
