using Sidecars.Conventions;

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

    /// <summary>
    /// The sidecars' seccomp profile. <see cref="SidecarSeccomp.RuntimeDefault"/> runs everywhere;
    /// <see cref="SidecarSeccomp.Localhost"/> needs <see cref="SeccompLocalhostProfile"/> on every node (deploy/ installs
    /// the node-profiles DaemonSet that keeps it there, and sets this).
    /// </summary>
    public SidecarSeccomp Seccomp { get; set; } = SidecarSeccomp.RuntimeDefault;

    /// <summary>The Localhost profile's path under the kubelet's seccomp root.</summary>
    public string SeccompLocalhostProfile { get; set; } = SidecarsNames.SeccompProfile;
}

/// <summary>Which seccomp profile the sidecars' securityContext names.</summary>
public enum SidecarSeccomp
{
    /// <summary>None: the pod's own choice, or the runtime's (unconfined on Kubernetes 1.20).</summary>
    Unset,

    /// <summary>The container runtime's default profile (refuses <c>userfaultfd</c>).</summary>
    RuntimeDefault,

    /// <summary>The sidecars' own profile, read from the node (<c>Sidecars.Seccomp</c>).</summary>
    Localhost,
}
