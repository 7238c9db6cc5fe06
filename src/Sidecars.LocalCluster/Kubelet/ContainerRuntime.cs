using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>What the kubelet knows about one container of a pod; only touched on the pod worker's loop.</summary>
internal sealed class ContainerRuntime
{
    public ContainerRuntime(V1Container spec, bool isInit, IContainerRunner? runner)
    {
        Spec = spec;
        IsInit = isInit;
        Runner = runner;
        State = Waiting(isInit ? "PodInitializing" : "ContainerCreating");
    }

    public V1Container Spec { get; }

    public string Name => Spec.Name;

    public bool IsInit { get; }

    /// <summary>Null for a virtual container (no process, running as soon as started).</summary>
    public IContainerRunner? Runner { get; }

    public ContainerLaunch? Launch { get; set; }

    public LoggedProcess? Process { get; set; }

    /// <summary>Bumped on every start, so events from an earlier incarnation are recognised and dropped.</summary>
    public int Generation { get; set; }

    public V1ContainerState State { get; set; }

    public V1ContainerState? LastState { get; set; }

    public int RestartCount { get; set; }

    public ContainerProber? Readiness { get; set; }

    public ContainerProber? Liveness { get; set; }

    public bool IsRunning => State.Running is not null;

    public bool IsTerminated => State.Terminated is not null;

    /// <summary>Running and, for a process with a readiness probe, passing it.</summary>
    public bool IsReady => IsRunning && (Readiness?.Verdict ?? true);

    public static V1ContainerState Waiting(string reason, string? message = null) =>
        new() { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } };

    public void StopProbes()
    {
        Readiness?.Dispose();
        Liveness?.Dispose();
        Readiness = null;
        Liveness = null;
    }
}
