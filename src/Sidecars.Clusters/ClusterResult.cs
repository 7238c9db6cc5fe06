namespace Sidecars.Clusters;

public enum ClusterResultCode
{
    Ok,
    InvalidArgument,
    NotFound,
    FailedPrecondition,
    DeadlineExceeded,
    Aborted,
    Unavailable,
}

/// <summary>The answer to one call: a code, the cluster's status when known, and a message a person can act on.</summary>
public sealed record ClusterResult(ClusterResultCode Code, ClusterStatus? Status, string Message)
{
    public static ClusterResult From(ClusterOutcome outcome, string operation)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var status = outcome.Status;
        return outcome.Code switch
        {
            OutcomeCode.Ok => new ClusterResult(ClusterResultCode.Ok, status, string.Empty),
            OutcomeCode.DeadlineExceeded => new ClusterResult(ClusterResultCode.DeadlineExceeded, status, $"{operation} of cluster {status.Name}: {status.Reason}: {status.Message}"),
            OutcomeCode.Aborted => new ClusterResult(ClusterResultCode.Aborted, status, $"{operation} of cluster {status.Name} aborted: {status.Reason}: {status.Message}"),
            _ => new ClusterResult(ClusterResultCode.FailedPrecondition, status, $"cluster {status.Name} failed: {status.Reason}: {status.Message}"),
        };
    }
}
