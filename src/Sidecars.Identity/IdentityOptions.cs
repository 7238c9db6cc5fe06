using System.ComponentModel.DataAnnotations;
using Sidecars.Conventions;
using Microsoft.Extensions.Options;

namespace Sidecars.Identity;

/// <summary>Where the identity state lives.</summary>
public enum IdentityStoreKind
{
    /// <summary>Kubernetes Secrets when running in a cluster, the file store otherwise.</summary>
    Auto,
    File,
    Kubernetes,
}

/// <summary>How a SeekBlessings caller proves that it is the replica whose blessing it asks for.</summary>
public enum ReplicaAttestation
{
    /// <summary>
    /// A projected service-account token of the caller's pod with the cluster agent's audience, reviewed with
    /// TokenReview: only the pod the token is bound to gets its replica blessing. Needs a cluster.
    /// </summary>
    PodToken,

    /// <summary>The secret alone: any holder of an application's secret can obtain any replica name of it.</summary>
    SecretOnly,
}

/// <summary>Configuration section <c>Sidecars:Identity</c> of the cluster agent.</summary>
public sealed class IdentityOptions
{
    public const string Section = "Sidecars:Identity";

    /// <summary>
    /// Lifetime of an issued replica blessing. It bounds revocation: after ForgetSecret no renewal succeeds, so every
    /// blessing issued under the secret expires (and stops verifying) within this time.
    /// </summary>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan BlessingLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How SeekBlessings callers prove which replica they are (<see cref="Identity.ReplicaAttestation"/>).</summary>
    public ReplicaAttestation ReplicaAttestation { get; set; } = ReplicaAttestation.PodToken;

    /// <summary>The audience pod tokens must carry (the webhook's <c>Sidecars:Injection:PodTokenAudience</c>).</summary>
    [Required]
    public string PodTokenAudience { get; set; } = Conventions.SidecarsNames.PodTokenAudience;

    /// <summary>Validity of the root certificate created by Claim.</summary>
    [TimeSpanRange("1.00:00:00", "36500.00:00:00")]
    public TimeSpan RootValidity { get; set; } = TimeSpan.FromDays(3650);

    public IdentityStoreKind Store { get; set; } = IdentityStoreKind.Auto;

    /// <summary>
    /// The file store's JSON file (relative to the working directory). The Kubernetes store and TokenReview use the
    /// shared client of <c>Sidecars:Kubernetes</c>.
    /// </summary>
    public string FilePath { get; set; } = "data/sidecars-identity.json";

    /// <summary>Namespace of the Secrets of the Kubernetes store.</summary>
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    public string Namespace { get; set; } = "sidecars-system";

    /// <summary>PEM file of the CA(s) whose client certificates are admins.</summary>
    public string? AdminClientCaFile { get; set; }

    /// <summary>Check bearer tokens with TokenReview (needs a cluster).</summary>
    public bool TokenReview { get; set; }

    /// <summary>Usernames (e.g. <c>system:serviceaccount:ns:name</c>) whose reviewed tokens are admins.</summary>
    public List<string> AdminUsers { get; set; } = [];

    /// <summary>Failed SeekBlessings calls a caller may make in a burst before being refused.</summary>
    [Range(1, 1_000_000)]
    public int FailureBurst { get; set; } = 20;

    /// <summary>Failed calls per second a caller regains after a burst.</summary>
    [Range(1, 1_000_000)]
    public int FailuresPerSecond { get; set; } = 1;
}

/// <summary>The attribute checks of <see cref="IdentityOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class IdentityOptionsAttributesValidator : IValidateOptions<IdentityOptions>;
