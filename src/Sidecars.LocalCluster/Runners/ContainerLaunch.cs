using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>Everything a runner needs to start one container: arguments and environment already resolved.</summary>
public sealed record ContainerLaunch
{
    public required V1Pod Pod { get; init; }

    public required V1Container Container { get; init; }

    /// <summary>The container's command (entrypoint override), resolved and rewritten to local paths; empty if unset.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The container's args, resolved and rewritten to local paths.</summary>
    public required IReadOnlyList<string> Args { get; init; }

    /// <summary>The container's environment, resolved (fieldRef, secretKeyRef, ...) and rewritten to local paths.</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    public required string PodIp { get; init; }

    /// <summary>The pod's local directory (volumes and container logs live beneath it).</summary>
    public required string PodDirectory { get; init; }

    /// <summary>The container's mount paths mapped to the local directories that stand in for them.</summary>
    public required IReadOnlyDictionary<string, string> Mounts { get; init; }
}
