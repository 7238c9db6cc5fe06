using Prometheus;

namespace Sidecars.Webhook.Metrics;

/// <summary>The webhook's Prometheus metrics, declared once.</summary>
public static class WebhookMetrics
{
    public static readonly Counter AdmissionRequests = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_admission_requests_total",
        "Admission requests by outcome (mutated, unchanged, skipped, denied, rejected, error) and reason.",
        "outcome", "reason");

    public static readonly Histogram AdmissionDuration = Prometheus.Metrics.CreateHistogram(
        "sidecars_webhook_admission_duration_seconds",
        "Time to answer an admission request, from body read to response written.",
        new HistogramConfiguration
        {
            LabelNames = ["outcome"],
            Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16),
        });

    public static readonly Counter SidecarsInjected = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_sidecars_injected_total", "Sidecars injected, by kind.", "kind");

    public static readonly Counter Rewrites = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_rewrites_total", "Rewrites applied to admitted objects, by kind.", "kind");

    public static readonly Counter TlsReloads = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_tls_reloads_total", "Serving certificate reloads, by result.", "result");

    public static readonly Gauge CertificateExpirySeconds = Prometheus.Metrics.CreateGauge(
        "sidecars_webhook_certificate_expiry_seconds", "Seconds until the serving certificate in use expires.");

    public static readonly Counter CertificateRotations = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_certificate_rotations_total", "Serving certificates issued by the rotator, by result.", "result");

    public static readonly Gauge PodsMissingInjection = Prometheus.Metrics.CreateGauge(
        "sidecars_webhook_repair_pods_missing", "Opted-in pods found without their sidecars or owner label.");

    public static readonly Counter PodsReported = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_repair_pods_reported_total", "Pods the repair loop reported (each once, with a SidecarsMissing Event) as admitted without their sidecars or owner label.");

    public static readonly Counter RepairEvictions = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_repair_evictions_total", "Pods evicted by the repair loop so their controller recreates them.", "result");

    public static readonly Counter NamespaceReads = Prometheus.Metrics.CreateCounter(
        "sidecars_webhook_namespace_misses_total",
        "Reviews for a namespace the informer has not seen, by how its labels were found (read, shared, remembered-missing, throttled).",
        "result");
}
