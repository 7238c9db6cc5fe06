using System.ComponentModel.DataAnnotations;
using Sidecars.Conventions;
using Microsoft.Extensions.Options;

namespace Sidecars.Webhook;

/// <summary>How the webhook serves: address, TLS material, request limits and its own namespace.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Sidecars:Webhook";

    /// <summary>Address Kestrel binds the HTTPS admission endpoint to.</summary>
    [Required]
    public string Address { get; set; } = "0.0.0.0";

    [Range(0, 65535)]
    public int Port { get; set; } = 8443;

    /// <summary>Plain HTTP port for /healthz, /readyz and /metrics (0 disables; then they are served on the HTTPS port).</summary>
    [Range(0, 65535)]
    public int MetricsPort { get; set; } = 9090;

    /// <summary>PEM serving certificate, reloaded when the file changes.</summary>
    [Required]
    public string CertificateFile { get; set; } = "/etc/sidecars/tls/tls.crt";

    /// <summary>PEM private key of the serving certificate.</summary>
    [Required]
    public string KeyFile { get; set; } = "/etc/sidecars/tls/tls.key";

    /// <summary>Largest AdmissionReview body accepted; Kubernetes objects are at most ~1.5 MiB.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public long MaxRequestBytes { get; set; } = 3 * 1024 * 1024;

    /// <summary>The webhook's own namespace; never mutated.</summary>
    [Required]
    public string Namespace { get; set; } = "sidecars-system";

    /// <summary>Name of the MutatingWebhookConfiguration whose caBundle the rotator keeps current.</summary>
    [Required]
    public string WebhookConfigurationName { get; set; } = "sidecars-webhook";

    /// <summary>
    /// PEM authority (or bundle) whose client certificates may send reviews; unset, any TLS client may. Set it where the
    /// apiserver presents a client certificate to webhooks (its AdmissionConfiguration kubeconfig); /healthz, /readyz
    /// and /metrics stay open.
    /// </summary>
    public string? ClientCertificateAuthorityFile { get; set; }

    /// <summary>Common names allowed among those client certificates (empty: any the authority issued).</summary>
    public string[] ClientCertificateNames { get; set; } = [];

    /// <summary>
    /// After the stop signal, how long the webhook keeps answering while it asks every HTTP/1.1 client to close its
    /// connection after the answer, so that the apiserver moves its pooled connections to the other replicas before the
    /// listener closes (HTTP/2 clients get GOAWAY when it does). Zero stops at once.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:00:20")]
    public TimeSpan DrainPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Reviews decided at once; more wait in a queue (see <see cref="MaxQueuedReviews"/>). Deciding a review is a few
    /// hundred microseconds of CPU, so a small multiple of the cores keeps them busy without letting a burst queue
    /// behind the thread pool.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxConcurrentReviews { get; set; } = 16;

    /// <summary>Reviews that may wait for a slot; beyond this a review is refused at once with 503 overloaded.</summary>
    [Range(0, 100_000)]
    public int MaxQueuedReviews { get; set; } = 1024;

    /// <summary>
    /// Longest a review waits for a slot before it is refused with 503 overloaded: well inside the apiserver's webhook
    /// timeout (the shipped configuration sets 3 s), so that the apiserver gets an answer and applies the failurePolicy.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:00:30")]
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Longest a review's body may take to arrive once it holds a slot; later it is refused with 408 body-timeout, so
    /// that a client trickling its body cannot hold the gate's slots.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:00:30")]
    public TimeSpan BodyTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Once no review has been refused as overloaded for this long, the webhook returns to the operating system the
    /// memory the overload took (one aggressive collection). Zero keeps it.
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan OverloadQuietPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether to watch namespaces for the opt-in label (off when running without a cluster).</summary>
    public bool WatchNamespaces { get; set; } = true;
}

/// <summary>The attribute checks of <see cref="WebhookOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class WebhookOptionsAttributesValidator : IValidateOptions<WebhookOptions>;
