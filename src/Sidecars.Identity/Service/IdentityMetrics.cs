using Prometheus;

namespace Sidecars.Identity.Service;

/// <summary>The identity service's metrics, declared once.</summary>
internal static class IdentityMetrics
{
    public static readonly Counter Issuances = Metrics.CreateCounter(
        "sidecars_identity_issuances_total", "Blessings issued by SeekBlessings.", "kind");

    public static readonly Counter Failures = Metrics.CreateCounter(
        "sidecars_identity_failures_total", "Refused identity calls.", "reason");

    public static readonly Counter SecretsCreated = Metrics.CreateCounter(
        "sidecars_identity_secrets_created_total", "Secrets created by NewSecret.");

    public static readonly Counter SecretsForgotten = Metrics.CreateCounter(
        "sidecars_identity_secrets_forgotten_total", "Secrets revoked by ForgetSecret.");

    public static readonly Histogram IssueDuration = Metrics.CreateHistogram(
        "sidecars_identity_issue_duration_seconds", "Time to serve a successful SeekBlessings.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 14) });
}
