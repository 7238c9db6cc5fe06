using k8s;
using Microsoft.Extensions.Logging;

namespace Sidecars.LocalCluster;

/// <summary>
/// What every pod worker shares with its kubelet; <see cref="NodeRecovering"/> is true for a while after the node was
/// found declared not Ready, when another writer's change to a pod's status is the node lifecycle controller's.
/// </summary>
internal sealed record KubeletContext(
    IKubernetes Client,
    SimulatedKubeletOptions Options,
    PodIpAllocator Addresses,
    Func<IReadOnlyList<IContainerRunner>> Runners,
    ILogger Logger,
    Func<bool> NodeRecovering);
