using System.ComponentModel.DataAnnotations;

namespace Sidecars.Webhook.Tls;

/// <summary>Self-managed TLS: the webhook issues its own short-lived serving certificate and keeps the caBundle current.</summary>
public sealed class RotationOptions
{
    public const string Section = WebhookOptions.Section + ":Rotation";

    public bool Enabled { get; set; }

    /// <summary>Secret (in the webhook's namespace) holding the CA, the serving pair and the published bundle.</summary>
    [Required]
    public string SecretName { get; set; } = "sidecars-webhook-tls";

    /// <summary>Lease used to elect the one replica that issues.</summary>
    [Required]
    public string LeaseName { get; set; } = "sidecars-webhook-rotator";

    public TimeSpan ServingLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>A serving certificate with less than this left is replaced.</summary>
    public TimeSpan ServingRenewBefore { get; set; } = TimeSpan.FromHours(8);

    public TimeSpan AuthorityLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>A CA with less than this left is replaced; the old one stays in the bundle until it expires.</summary>
    public TimeSpan AuthorityRenewBefore { get; set; } = TimeSpan.FromDays(2);

    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Names the serving certificate is valid for (the Service's DNS names).</summary>
    public string[] DnsNames { get; set; } = ["sidecars-webhook.sidecars-system.svc"];

    /// <summary>IP addresses the serving certificate is valid for (a webhook registered by URL on loopback).</summary>
    public string[] IpAddresses { get; set; } = [];

    /// <summary>Write the serving pair to the configured certificate files (when not mounted from the Secret).</summary>
    public bool WriteFiles { get; set; } = true;
}
