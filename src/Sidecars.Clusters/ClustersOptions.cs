using System.ComponentModel.DataAnnotations;
using Sidecars.Conventions;
using Microsoft.Extensions.Options;

namespace Sidecars.Clusters;

/// <summary>Configuration section <c>Sidecars:Clusters</c>.</summary>
public sealed class ClustersOptions
{
    public const string Section = "Sidecars:Clusters";

    /// <summary>Namespace the cluster Deployments live in.</summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", ErrorMessage = "Sidecars:Clusters:Namespace must be a DNS label")]
    public string Namespace { get; set; } = "default";

    /// <summary>How long CreateCluster waits for Available before DEADLINE_EXCEEDED (a request may ask for less or more).</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan CreateTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long DeleteCluster waits for the Deployment and its pods to be gone.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan DeleteTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Delete the Deployment when a create times out (otherwise it is left and the cluster is FAILED).</summary>
    public bool DeleteOnTimeout { get; set; }

    [Range(0, 10000)]
    public int MaxReplicas { get; set; } = 1000;
}

/// <summary>The attribute checks of <see cref="ClustersOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class ClustersOptionsAttributesValidator : IValidateOptions<ClustersOptions>;
