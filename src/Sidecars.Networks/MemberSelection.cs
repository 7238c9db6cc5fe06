namespace Sidecars.Networks;

/// <summary>How one attempt to join through a member went.</summary>
public enum JoinAttempt
{
    Joined,

    /// <summary>The new pod answered, but could not reach the member: drop the member and try the next.</summary>
    MemberUnreachable,

    /// <summary>The new pod itself did not answer: stop, the members are not at fault.</summary>
    PodUnreachable,
}

public enum JoinOutcome
{
    /// <summary>Joined through <see cref="JoinResult.Via"/>.</summary>
    Joined,

    /// <summary>No live member: the pod is the network's first member.</summary>
    First,

    /// <summary>The new pod did not answer.</summary>
    PodUnreachable,
}

public sealed record JoinResult(JoinOutcome Outcome, NetworkMember? Via, IReadOnlyList<NetworkMember> Dropped);

/// <summary>
/// The join rule: try the newest member; when it cannot be reached drop it and try the next; when none is left
/// the pod is the first member. Pure apart from the attempt delegate.
/// </summary>
public static class MemberSelection
{
    public static async Task<JoinResult> JoinThroughAsync(
        IReadOnlyList<NetworkMember> membersNewestFirst, Func<NetworkMember, Task<JoinAttempt>> attempt)
    {
        ArgumentNullException.ThrowIfNull(membersNewestFirst);
        ArgumentNullException.ThrowIfNull(attempt);
        var dropped = new List<NetworkMember>();
        foreach (var member in membersNewestFirst)
        {
            switch (await attempt(member))
            {
                case JoinAttempt.Joined:
                    return new JoinResult(JoinOutcome.Joined, member, dropped);
                case JoinAttempt.PodUnreachable:
                    return new JoinResult(JoinOutcome.PodUnreachable, null, dropped);
                default:
                    dropped.Add(member);
                    break;
            }
        }

        return new JoinResult(JoinOutcome.First, null, dropped);
    }
}
