namespace Sidecars.Clusters;

/// <summary>The one state a cluster is in.</summary>
public enum ClusterPhase
{
    CreateInProgress,
    Available,
    DeleteInProgress,
    Failed,
}

/// <summary>What the cluster's Deployment says, independent of what Sidecars is doing with it.</summary>
public enum ObservedPhase
{
    /// <summary>No Deployment.</summary>
    Absent,

    /// <summary>Exists, not (yet) available with all replicas.</summary>
    Progressing,

    /// <summary>observedGeneration ≥ generation, every replica updated and available, condition Available=True.</summary>
    Available,

    /// <summary>Kubernetes gave up: condition Progressing=False with reason ProgressDeadlineExceeded.</summary>
    Failed,

    /// <summary>Has a deletionTimestamp.</summary>
    Deleting,
}

/// <summary>A snapshot of one cluster as the agent reports it.</summary>
public sealed record ClusterStatus(
    string Name,
    string Namespace,
    ClusterPhase Phase,
    int Replicas,
    int ReadyReplicas,
    int AvailableReplicas,
    int Pods,
    string Reason,
    string Message);

/// <summary>How an operation ended for its callers.</summary>
public enum OutcomeCode
{
    Ok,
    DeadlineExceeded,
    Aborted,
    Failed,
}

public sealed record ClusterOutcome(OutcomeCode Code, ClusterStatus Status);
