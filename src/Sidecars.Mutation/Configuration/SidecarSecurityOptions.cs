namespace Sidecars.Mutation;

/// <summary>The restrictive securityContext given to the injected containers.</summary>
public sealed class SidecarSecurityOptions
{
    public bool RunAsNonRoot { get; set; } = true;

    /// <summary>Numeric user the sidecars run as (null leaves it to the image).</summary>
    public long? RunAsUser { get; set; } = 65532;

    public bool ReadOnlyRootFilesystem { get; set; } = true;

    public bool AllowPrivilegeEscalation { get; set; }

    public bool DropAllCapabilities { get; set; } = true;

    /// <summary>Set seccompProfile RuntimeDefault.</summary>
    public bool SeccompRuntimeDefault { get; set; } = true;
}
