using Prometheus;

namespace Sidecars.UserPods;

/// <summary>Prometheus metrics of the user-pods API, declared once.</summary>
internal static class UserPodsMetrics
{
    public static readonly Counter Requests = Metrics.CreateCounter(
        "sidecars_userpods_requests_total", "User-pods API calls by method and outcome (gRPC status).",
        new CounterConfiguration { LabelNames = ["method", "outcome"] });

    public static readonly Histogram RequestDuration = Metrics.CreateHistogram(
        "sidecars_userpods_request_duration_seconds", "Duration of user-pods API calls (watch calls include the wait).",
        new HistogramConfiguration { LabelNames = ["method"], Buckets = Histogram.ExponentialBuckets(0.005, 2.5, 12) });

    public static readonly Counter PodsCreated = Metrics.CreateCounter(
        "sidecars_userpods_pods_created_total", "Pods created through the user-pods API.");

    public static readonly Counter PodsReaped = Metrics.CreateCounter(
        "sidecars_userpods_create_timeouts_total", "Pods deleted because they were not Ready within the create timeout.");

    public static readonly Counter TokenFetches = Metrics.CreateCounter(
        "sidecars_userpods_token_fetches_total", "Token fetches from pod-agents by outcome (stored, refused).",
        new CounterConfiguration { LabelNames = ["outcome"] });
}
