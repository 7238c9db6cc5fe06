namespace Sidecars.Kubernetes.Leadership;

/// <summary>What a Lease currently says: who holds it, when it was last renewed and for how long it is valid.</summary>
public sealed record LeaseRecord(string? Holder, TimeSpan Duration, int Transitions);

/// <summary>What a candidate does next with the Lease.</summary>
public enum LeaseAction
{
    /// <summary>No Lease exists: create it holding it.</summary>
    Create,

    /// <summary>The Lease is free (released or expired): take it over, one more transition.</summary>
    Acquire,

    /// <summary>This candidate holds it: renew it.</summary>
    Renew,

    /// <summary>Another candidate holds a Lease that has not expired: try again later.</summary>
    Wait,
}

/// <summary>
/// The elector's decisions, as pure functions. Expiry is judged on this process's clock from the moment the Lease was
/// last seen to change (as client-go does), never from the renew time written by another machine, so clock skew
/// between replicas cannot make two of them lead.
/// </summary>
public static class LeaseDecision
{
    /// <param name="lease">The Lease as read; null when it does not exist.</param>
    /// <param name="observedChangeAt">Local time at which the Lease's holder or renew time was last seen to change.</param>
    /// <param name="identity">This candidate.</param>
    /// <param name="now">Local time now.</param>
    public static LeaseAction Decide(LeaseRecord? lease, DateTimeOffset observedChangeAt, string identity, DateTimeOffset now)
    {
        if (lease is null)
        {
            return LeaseAction.Create;
        }

        if (string.Equals(lease.Holder, identity, StringComparison.Ordinal))
        {
            return LeaseAction.Renew;
        }

        if (string.IsNullOrEmpty(lease.Holder) || now >= observedChangeAt + lease.Duration)
        {
            return LeaseAction.Acquire;
        }

        return LeaseAction.Wait;
    }

    /// <summary>
    /// Whether a leader whose last successful renewal was at <paramref name="lastRenewed"/> may still act: it steps
    /// down once <paramref name="renewDeadline"/> (shorter than the lease duration) has passed without one, before any
    /// other candidate may consider the Lease expired.
    /// </summary>
    public static bool StillLeading(DateTimeOffset lastRenewed, TimeSpan renewDeadline, DateTimeOffset now) =>
        now < lastRenewed + renewDeadline;
}
