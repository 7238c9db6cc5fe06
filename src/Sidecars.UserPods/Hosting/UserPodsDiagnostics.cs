using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Hosting;

/// <summary>What requests have in flight: tasks they started and waits on the pod informer. Zero when idle.</summary>
public sealed class UserPodsDiagnostics(RequestWork work, UserPodCache cache)
{
    public int ActiveTasks => work.ActiveTasks;

    public int ActiveWaiters => cache.ActiveWaiters;
}
