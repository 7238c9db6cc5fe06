using k8s.Models;
using Sidecars.Kubernetes;

namespace Sidecars.LocalCluster;

/// <summary>What the kubelet does for one change of a pod bound to its node: which pod's worker stops, which pod runs.</summary>
internal static class PodEventPlan
{
    /// <returns>The UID whose worker stops (null for none) and the pod to run or update (null for none).</returns>
    public static (string? Stop, V1Pod? Run) For(ResourceEvent<V1Pod> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (change.Type == ResourceEventType.Deleted)
        {
            return (change.Item.Metadata?.Uid, null);
        }

        // A pod deleted and created again under its name while the watch was down reaches the informer's relist as
        // a change of one object: the old pod's worker stops and the new pod gets its own.
        var previous = change.Old?.Metadata?.Uid;
        return (previous is not null && previous != change.Item.Metadata?.Uid ? previous : null, change.Item);
    }
}
