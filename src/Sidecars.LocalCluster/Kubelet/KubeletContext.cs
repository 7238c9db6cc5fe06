using k8s;
using Microsoft.Extensions.Logging;

namespace Sidecars.LocalCluster;

/// <summary>What every pod worker shares with its kubelet.</summary>
internal sealed record KubeletContext(
    IKubernetes Client,
    SimulatedKubeletOptions Options,
    PodIpAllocator Addresses,
    Func<IReadOnlyList<IContainerRunner>> Runners,
    ILogger Logger);
