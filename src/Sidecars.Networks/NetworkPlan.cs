namespace Sidecars.Networks;

/// <summary>A member to remove from its network, and why (<c>deleted</c>, <c>replaced</c>, <c>unreachable</c>).</summary>
public sealed record Purge(NetworkMember Member, string Reason);

/// <summary>
/// What one pass over a network does: purge members whose pod is gone, replaced or no longer answers, then join Ready
/// pods. With no member left, one pod (<see cref="First"/>) joins alone, as the first member: two pods doing it side
/// by side would each start a network of their own that never meet; the others wait for the next pass.
/// </summary>
public sealed record NetworkPlan(
    IReadOnlyList<Purge> Purges,
    LightpeerPod? First,
    IReadOnlyList<LightpeerPod> Joins,
    IReadOnlyDictionary<string, JoinState> JoinStates,
    DateTimeOffset? NextAttempt)
{
    /// <summary>Another pass is due right after this one: the first member was chosen and the others still wait.</summary>
    public bool PassAgain => First is not null && JoinStates.Count > 1;
}
