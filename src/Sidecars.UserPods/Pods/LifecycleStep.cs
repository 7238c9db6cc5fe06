using k8s.Models;

namespace Sidecars.UserPods.Pods;

public enum LifecycleAction
{
    /// <summary>Deleting, or seen Ready before: nothing left to watch.</summary>
    None,

    /// <summary>Ready for the first time: record it, so the pod is never reaped later.</summary>
    MarkReady,

    /// <summary>Not Ready by its deadline, or its creation never finished by then: delete it with its resources.</summary>
    Reap,

    /// <summary>Not Ready yet: look again at <see cref="LifecycleStep.Deadline"/>.</summary>
    Wait,
}

/// <summary>What the create timeout means for one user pod now. Pure.</summary>
public sealed record LifecycleStep(LifecycleAction Action, DateTimeOffset Deadline)
{
    public static LifecycleStep Decide(V1Pod pod, DateTimeOffset now, TimeSpan createTimeout)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var deadline = PodState.CreateDeadline(pod, createTimeout);
        var action = pod.Metadata.DeletionTimestamp is not null ? LifecycleAction.None
            : PodState.IsCreating(pod) ? (deadline <= now ? LifecycleAction.Reap : LifecycleAction.Wait)
            : PodState.WasReady(pod) ? LifecycleAction.None
            : PodState.IsReady(pod) ? LifecycleAction.MarkReady
            : deadline <= now ? LifecycleAction.Reap
            : LifecycleAction.Wait;
        return new LifecycleStep(action, deadline);
    }
}
