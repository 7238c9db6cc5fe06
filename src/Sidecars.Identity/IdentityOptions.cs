using System.ComponentModel.DataAnnotations;

namespace Sidecars.Identity;

/// <summary>Where the identity state lives.</summary>
public enum IdentityStoreKind
{
    /// <summary>Kubernetes Secrets when running in a cluster, the file store otherwise.</summary>
    Auto,
    File,
    Kubernetes,
}

/// <summary>Configuration section <c>Sidecars:Identity</c> of the cluster agent.</summary>
public sealed class IdentityOptions
{
    public const string Section = "Sidecars:Identity";

    /// <summary>Lifetime of an issued replica blessing.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan BlessingLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Validity of the root certificate created by Claim.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "36500.00:00:00")]
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
