using System.Threading.Channels;

namespace Sidecars.Clusters;

/// <summary>Mutable record of one cluster inside <see cref="ClusterStateMachine"/>; only touched under its lock.</summary>
internal sealed class ClusterEntry(string name, string @namespace, ClusterPhase phase)
{
    public string Name { get; } = name;

    public string Namespace { get; } = @namespace;

    public ClusterPhase Phase { get; set; } = phase;

    /// <summary>Whether the Deployment has been observed at least once.</summary>
    public bool Seen { get; set; }

    public int Replicas { get; set; }

    public int ReadyReplicas { get; set; }

    public int AvailableReplicas { get; set; }

    public int Pods { get; set; }

    public string Reason { get; set; } = string.Empty;

    public string Message { get; set; } = string.Empty;

    /// <summary>The create in progress that callers wait on; null when none.</summary>
    public CreateOperation? CreateOperation { get; set; }

    /// <summary>The delete in progress that callers wait on; null when none.</summary>
    public TaskCompletionSource<ClusterOutcome>? DeleteOperation { get; set; }

    public List<Channel<ClusterStatus>> Subscribers { get; } = [];

    /// <summary>The create's deadline (from the Deployment's annotations, or the create call that made it); null once met or passed.</summary>
    public CreateDeadline? Deadline { get; set; }

    public ITimer? DeadlineTimer { get; set; }

    /// <summary>Seen Available at least once: a create deadline no longer applies, even one still annotated.</summary>
    public bool WasAvailable { get; set; }

    /// <summary>The deadline passed with delete-on-timeout and Kubernetes has not been seen deleting it yet.</summary>
    public bool DeleteDue { get; set; }

    public ClusterStatus ToStatus() =>
        new(Name, Namespace, Phase, Replicas, ReadyReplicas, AvailableReplicas, Pods, Reason, Message);
}

/// <summary>A create waited on by one or more callers, ending on Available, failure, delete or the cluster's deadline.</summary>
internal sealed class CreateOperation
{
    public TaskCompletionSource<ClusterOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Complete(OutcomeCode code, ClusterStatus status) => Outcome.TrySetResult(new ClusterOutcome(code, status));
}
