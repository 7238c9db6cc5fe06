using System.ComponentModel.DataAnnotations;
using Sidecars.Conventions;
using Microsoft.Extensions.Options;

namespace Sidecars.Networks;

/// <summary>Configuration section <c>Sidecars:Networks</c>.</summary>
public sealed class NetworksOptions
{
    public const string Section = "Sidecars:Networks";

    /// <summary>Namespace whose lightpeer pods are watched; empty for all namespaces.</summary>
    public string? Namespace { get; set; }

    /// <summary>How often every member is health-checked.</summary>
    [TimeSpanRange("00:00:00.050", "01:00:00")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bound on one call to a lightpeer (join, health, forget).</summary>
    [TimeSpanRange("00:00:00.050", "00:05:00")]
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive failed health checks after which a member is purged.</summary>
    [Range(1, 100)]
    public int FailureThreshold { get; set; } = 2;

    /// <summary>Pods of one network joined at the same time; purges wait for them.</summary>
    [Range(1, 64)]
    public int JoinConcurrency { get; set; } = 8;

    /// <summary>Attempts to join a Ready pod that does not answer (backing off up to 5 s) before leaving it to the periodic resync.</summary>
    [Range(1, 1000)]
    public int JoinAttempts { get; set; } = 30;

    /// <summary>
    /// Namespace of the Secret <c>sidecars-lightpeer-ca</c> (the network CA and the controller's certificate): the
    /// cluster agent's own.
    /// </summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    public string CaNamespace { get; set; } = "sidecars-system";

    /// <summary>How often the network CA and every identity Secret are checked again (rotation, repair of a changed Secret).</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan IdentityCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a namespace's peer identity Secret outlives the namespace's last lightpeer pod before it is deleted (a
    /// workload scaled to zero and back, or recreated, finds it still there).
    /// </summary>
    [TimeSpanRange("00:00:00", "30.00:00:00")]
    public TimeSpan IdentityRetention { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>The attribute checks of <see cref="NetworksOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class NetworksOptionsAttributesValidator : IValidateOptions<NetworksOptions>;
