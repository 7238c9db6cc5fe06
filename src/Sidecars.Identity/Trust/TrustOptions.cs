using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Sidecars.Identity.Trust;

/// <summary>Configuration section <c>Sidecars:Trust</c>: delivery of the cluster agent's CA bundle to opted-in namespaces.</summary>
public sealed class TrustOptions
{
    public const string Section = "Sidecars:Trust";

    /// <summary>
    /// Keep the ConfigMap <c>sidecars-ca</c> in every opted-in namespace equal to the <c>ca.crt</c> of the Secret
    /// <c>sidecars-cluster-agent-tls</c>. Needs a cluster; without one the controller is left out.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Namespace of the Secret <c>sidecars-cluster-agent-tls</c>: the cluster agent's own.</summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    public string Namespace { get; set; } = "sidecars-system";
}

/// <summary>The attribute checks of <see cref="TrustOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class TrustOptionsAttributesValidator : IValidateOptions<TrustOptions>;
