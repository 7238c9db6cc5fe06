using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>Derives a pod's status from its containers' states: phase, conditions, container statuses, IPs.</summary>
internal static class PodStatusBuilder
{
    public static V1PodStatus Build(
        V1Pod pod,
        string podIp,
        DateTime startTime,
        IReadOnlyList<ContainerRuntime> initContainers,
        IReadOnlyList<ContainerRuntime> containers,
        bool initFailed,
        PodConditionTracker conditions,
        DateTime now)
    {
        var initialized = initContainers.All(c => c.IsTerminated && c.State.Terminated.ExitCode == 0);
        var phase = Phase(initialized, initFailed, containers);
        var containersReady = phase == "Running" && containers.All(c => c.IsReady);
        var gatesPass = (pod.Spec.ReadinessGates ?? []).All(gate =>
            pod.Status?.Conditions?.Any(c => c.Type == gate.ConditionType && c.Status == "True") == true);
        var completed = phase is "Succeeded" or "Failed";

        return new V1PodStatus
        {
            Phase = phase,
            HostIP = "127.0.0.1",
            PodIP = podIp,
            PodIPs = [new V1PodIP { Ip = podIp }],
            StartTime = startTime,
            Conditions =
            [
                conditions.Get("Initialized", initialized, now, "ContainersNotInitialized"),
                conditions.Get("Ready", containersReady && gatesPass, now, completed ? "PodCompleted" : "ContainersNotReady"),
                conditions.Get("ContainersReady", containersReady, now, completed ? "PodCompleted" : "ContainersNotReady"),
                conditions.Get("PodScheduled", true, now),
            ],
            InitContainerStatuses = initContainers.Count > 0 ? initContainers.Select(c => StatusOf(pod, c)).ToList() : null,
            ContainerStatuses = containers.Select(c => StatusOf(pod, c)).ToList(),
        };
    }

    /// <summary>
    /// Whether the status stored in the API has lost what this kubelet last wrote: another phase, or one of its
    /// conditions with another status (the node lifecycle controller marks every pod of a node that missed its
    /// heartbeats not Ready; the kubelet writes its own view back once it sees that).
    /// </summary>
    public static bool Diverges(V1PodStatus? stored, V1PodStatus written) =>
        stored?.Phase != written.Phase
        || (written.Conditions ?? []).Any(mine => stored?.Conditions?.FirstOrDefault(c => c.Type == mine.Type)?.Status != mine.Status);

    internal static string Phase(bool initialized, bool initFailed, IReadOnlyList<ContainerRuntime> containers)
    {
        if (initFailed)
        {
            return "Failed";
        }

        if (!initialized || containers.Any(c => c.State.Waiting is not null && c.RestartCount == 0 && c.LastState is null))
        {
            return "Pending";
        }

        if (containers.All(c => c.IsTerminated))
        {
            return containers.All(c => c.State.Terminated.ExitCode == 0) ? "Succeeded" : "Failed";
        }

        return "Running";
    }

    private static V1ContainerStatus StatusOf(V1Pod pod, ContainerRuntime container) => new()
    {
        Name = container.Name,
        Image = container.Spec.Image,
        ImageID = "sim://" + container.Spec.Image,
        ContainerID = container.Generation > 0 ? $"sim://{pod.Metadata.Uid}/{container.Name}/{container.Generation}" : null,
        Ready = container.IsReady,
        Started = container.IsRunning,
        RestartCount = container.RestartCount,
        State = container.State,
        LastState = container.LastState ?? new V1ContainerState(),
    };
}
