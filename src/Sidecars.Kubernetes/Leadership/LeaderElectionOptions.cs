using System.ComponentModel.DataAnnotations;
using Sidecars.Conventions;
using Microsoft.Extensions.Options;

namespace Sidecars.Kubernetes.Leadership;

/// <summary>
/// Configuration section <c>Sidecars:Leadership</c>: the Lease that elects one replica to run the controllers. A
/// leader that dies is replaced within <see cref="LeaseDuration"/> + <see cref="RetryPeriod"/>; one that stops
/// cleanly releases the Lease and is replaced within <see cref="RetryPeriod"/>.
/// </summary>
public sealed class LeaderElectionOptions : IValidatableObject
{
    public const string Section = "Sidecars:Leadership";

    /// <summary>Namespace of the Lease; when empty, the pod's own namespace inside a cluster, else <c>default</c>.</summary>
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", ErrorMessage = "Sidecars:Leadership:Namespace must be a DNS label")]
    public string? Namespace { get; set; }

    /// <summary>How long a Lease not renewed stays with its holder.</summary>
    [TimeSpanRange("00:00:01", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps acting without a successful renewal; shorter than the lease duration.</summary>
    [TimeSpanRange("00:00:00.500", "00:10:00")]
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Spacing of renewals by the leader and of attempts by the others.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>This replica's name in the Lease; the pod name (HOSTNAME) and a random suffix when empty.</summary>
    public string? Identity { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RenewDeadline >= LeaseDuration)
        {
            yield return new ValidationResult(
                $"{Section}:RenewDeadline ({RenewDeadline}) must be shorter than {Section}:LeaseDuration ({LeaseDuration})",
                [nameof(RenewDeadline)]);
        }

        if (RetryPeriod >= RenewDeadline)
        {
            yield return new ValidationResult(
                $"{Section}:RetryPeriod ({RetryPeriod}) must be shorter than {Section}:RenewDeadline ({RenewDeadline})",
                [nameof(RetryPeriod)]);
        }
    }

    /// <summary>The configured namespace, the service account's namespace inside a pod, or <c>default</c>.</summary>
    public string ResolveNamespace()
    {
        const string inCluster = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
        return !string.IsNullOrWhiteSpace(Namespace) ? Namespace
            : File.Exists(inCluster) ? File.ReadAllText(inCluster).Trim()
            : "default";
    }

    /// <summary>The configured identity, or the host name with a random suffix (two processes never share one).</summary>
    public string ResolveIdentity() =>
        string.IsNullOrWhiteSpace(Identity) ? $"{Environment.MachineName}_{Guid.NewGuid():N}" : Identity;
}

/// <summary>The attribute checks of <see cref="LeaderElectionOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class LeaderElectionOptionsAttributesValidator : IValidateOptions<LeaderElectionOptions>;
