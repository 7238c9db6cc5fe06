using System.ComponentModel.DataAnnotations;
using Sidecars.Certificates.Issuing;
using Microsoft.Extensions.Options;

namespace Sidecars.Webhook.Tls;

/// <summary>Self-managed TLS: the webhook issues its own short-lived serving certificate and keeps the caBundle current.</summary>
public sealed class RotationOptions : ServingCertificatePolicy
{
    public const string Section = WebhookOptions.Section + ":Rotation";

    public RotationOptions()
    {
        AuthorityName = "sidecars-webhook-ca";
        DnsNames = ["sidecars-webhook.sidecars-system.svc"];
    }

    public bool Enabled { get; set; }

    /// <summary>Secret (in the webhook's namespace) holding the CA, the serving pair and the published bundle.</summary>
    [Required]
    public string SecretName { get; set; } = "sidecars-webhook-tls";

    /// <summary>Lease used to elect the one replica that issues.</summary>
    [Required]
    public string LeaseName { get; set; } = "sidecars-webhook-rotator";

    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Write the serving pair to the configured certificate files (when not mounted from the Secret).</summary>
    public bool WriteFiles { get; set; } = true;
}

/// <summary>The attribute checks of <see cref="RotationOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class RotationOptionsAttributesValidator : IValidateOptions<RotationOptions>;
