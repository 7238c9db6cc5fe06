namespace Sidecars.Networks;

/// <summary>The deciding step of a network's reconcile: observed pods and recorded members in, a plan out. Pure.</summary>
public static class NetworkPlanner
{
    /// <param name="pods">The informer's pods labelled with this network.</param>
    /// <param name="members">Recorded members, newest first.</param>
    /// <param name="checkFailures">Consecutive failed health checks per member key.</param>
    /// <param name="joins">Join progress per pod key, from the previous pass.</param>
    /// <param name="since">Timestamp recorded for a pod seen joinable for the first time.</param>
    public static NetworkPlan Plan(
        IReadOnlyCollection<LightpeerPod> pods,
        IReadOnlyList<NetworkMember> members,
        IReadOnlyDictionary<string, int> checkFailures,
        IReadOnlyDictionary<string, JoinState> joins,
        NetworksOptions options,
        DateTimeOffset now,
        long since)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(checkFailures);
        ArgumentNullException.ThrowIfNull(joins);
        ArgumentNullException.ThrowIfNull(options);
        var byKey = pods.ToDictionary(p => p.Key, StringComparer.Ordinal);

        var purges = new List<Purge>();
        foreach (var member in members)
        {
            var pod = byKey.GetValueOrDefault(member.Key);
            var reason = pod is null || pod.Gone ? "deleted"
                : pod.Uid != member.Uid ? "replaced"
                : checkFailures.GetValueOrDefault(member.Key) >= options.FailureThreshold ? "unreachable"
                : null;
            if (reason is not null)
            {
                purges.Add(new Purge(member, reason));
            }
        }

        var remaining = members.Where(m => !purges.Exists(p => p.Member == m)).Select(m => m.Key).ToHashSet(StringComparer.Ordinal);
        var states = new Dictionary<string, JoinState>(StringComparer.Ordinal);
        var ready = new List<LightpeerPod>();
        DateTimeOffset? next = null;
        foreach (var pod in pods.Where(p => p.Joinable && !remaining.Contains(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            // A pod that left the joinable set (or was replaced) starts over: its attempts belonged to another spell.
            var state = joins.TryGetValue(pod.Key, out var known) && known.Uid == pod.Uid ? known : new JoinState(pod.Uid, since, 0, now);
            states.Add(pod.Key, state);
            if (state.Failures >= options.JoinAttempts)
            {
                continue;
            }

            if (state.NotBefore > now)
            {
                next = next is null || state.NotBefore < next ? state.NotBefore : next;
                continue;
            }

            ready.Add(pod);
        }

        return remaining.Count == 0 && ready.Count > 0
            ? new NetworkPlan(purges, ready[0], [], states, next)
            : new NetworkPlan(purges, null, ready, states, next);
    }

    /// <summary>
    /// Joinable pods that are not members and have not given up: the <see cref="NetworkSnapshot.Pending"/> figure, read
    /// from the informer so it follows the pods even while a pass is busy joining.
    /// </summary>
    public static int Pending(
        IEnumerable<LightpeerPod> pods, IReadOnlyList<NetworkMember> members, IReadOnlyDictionary<string, JoinState> joins, NetworksOptions options)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(joins);
        ArgumentNullException.ThrowIfNull(options);
        return pods.Count(p => p.Joinable
            && !members.Any(m => m.Key == p.Key && m.Uid == p.Uid)
            && !(joins.TryGetValue(p.Key, out var state) && state.Uid == p.Uid && state.Failures >= options.JoinAttempts));
    }

    /// <summary>The members recorded on the network's pods, newest first: what every replica lists.</summary>
    public static IReadOnlyList<NetworkMember> Recorded(IEnumerable<LightpeerPod> pods)
    {
        ArgumentNullException.ThrowIfNull(pods);
        return [.. pods.Where(p => !p.Gone).Select(p => p.Recorded).OfType<NetworkMember>()
            .OrderByDescending(m => m.JoinedAt).ThenBy(m => m.Key, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The records to write so the pods say what the leader's members are: a member's pod gets its record (null
    /// <see cref="RecordChange.Member"/>: a pod that is no longer a member loses it). Pods on their way out are left alone.
    /// </summary>
    public static IReadOnlyList<RecordChange> Records(IEnumerable<LightpeerPod> pods, IReadOnlyList<NetworkMember> members)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(members);
        var changes = new List<RecordChange>();
        foreach (var pod in pods.Where(p => !p.Gone).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var member = members.FirstOrDefault(m => m.Key == pod.Key && m.Uid == pod.Uid);
            if (member != pod.Recorded)
            {
                changes.Add(new RecordChange(pod, member));
            }
        }

        return changes;
    }
}

/// <summary>A membership record to write on <see cref="Pod"/>: <see cref="Member"/>, or none.</summary>
public sealed record RecordChange(LightpeerPod Pod, NetworkMember? Member);
