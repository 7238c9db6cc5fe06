namespace Sidecars.Networks.Tests;

/// <summary>The deciding step of the network controller, as tables of observed pods and members.</summary>
public sealed class NetworkPlannerTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly NetworksOptions Options = new() { FailureThreshold = 2, JoinAttempts = 3 };

    /// <summary>
    /// Pods are written <c>name[:uid][!state]</c> with state r (Ready, the default), n (not Ready), g (gone) and a
    /// (no address); members <c>name[:uid]</c>, newest first.
    /// </summary>
    [Theory]
    // Nothing there, nothing to do.
    [InlineData("", "", "", "", "")]
    // An empty network: one pod is chosen to be the first member, alone.
    [InlineData("a b c", "", "", "a", "")]
    // With a member, every Ready pod joins side by side.
    [InlineData("m a b", "m", "", "", "a b")]
    // Pods not Ready or without an address wait.
    [InlineData("m a!n b!a", "m", "", "", "")]
    // A member whose pod is gone, missing or replaced is purged; a replaced pod joins again.
    [InlineData("m x!g y:2 z", "m x y:1 w", "x:deleted y:replaced w:deleted", "", "y z")]
    // Purging the last member leaves the network empty: its first member is chosen again, alone.
    [InlineData("m!g a b", "m", "m:deleted", "a", "")]
    // A member that is not Ready stays a member and is not joined again.
    [InlineData("m!n a", "m", "", "", "a")]
    public void Plans_purges_and_joins(string pods, string members, string purges, string first, string joins)
    {
        var plan = NetworkPlanner.Plan(Pods(pods), Members(members), new Dictionary<string, int>(), new Dictionary<string, JoinState>(), Options, Now, 7);

        Assert.Equal(Words(purges), plan.Purges.Select(p => $"{p.Member.Pod}:{p.Reason}"));
        Assert.Equal(first, plan.First?.Name ?? string.Empty);
        Assert.Equal(Words(joins), plan.Joins.Select(p => p.Name));
    }

    [Theory]
    [InlineData(1, "")]
    [InlineData(2, "a:unreachable")]
    [InlineData(5, "a:unreachable")]
    public void A_member_is_purged_once_its_failed_checks_reach_the_threshold(int failures, string purges)
    {
        var plan = NetworkPlanner.Plan(Pods("a b"), Members("a b"), new Dictionary<string, int> { ["ns/a"] = failures }, new Dictionary<string, JoinState>(), Options, Now, 0);
        Assert.Equal(Words(purges), plan.Purges.Select(p => $"{p.Member.Pod}:{p.Reason}"));
    }

    [Theory]
    // A pod waiting for its next attempt does not join; the plan says when to look again.
    [InlineData("1", 0, 5, "", 5)]
    // Its time has come.
    [InlineData("1", 1, -1, "a", null)]
    // Out of attempts: left alone (until the resync clears its record).
    [InlineData("1", 3, -1, "", null)]
    // A replaced pod (another uid) starts over.
    [InlineData("2", 3, 5, "a", null)]
    public void Join_attempts_are_spaced_and_bounded_per_pod(string uid, int failures, int notBeforeSeconds, string joins, int? nextSeconds)
    {
        var state = new Dictionary<string, JoinState> { ["ns/a"] = new JoinState(uid, 1, failures, Now.AddSeconds(notBeforeSeconds)) };
        var plan = NetworkPlanner.Plan(Pods("m a:1"), Members("m"), new Dictionary<string, int>(), state, Options, Now, 9);

        Assert.Equal(Words(joins), plan.Joins.Select(p => p.Name));
        Assert.Equal(nextSeconds is null ? null : Now.AddSeconds(nextSeconds.Value), plan.NextAttempt);
        Assert.Equal(uid == "1" ? failures : 0, plan.JoinStates["ns/a"].Failures);
    }

    [Fact]
    public void Join_progress_is_kept_for_pods_still_joining_and_dropped_for_pods_that_left_the_Ready_set()
    {
        var state = new Dictionary<string, JoinState>
        {
            ["ns/a"] = new JoinState("1", 1, 1, Now),
            ["ns/b"] = new JoinState("1", 1, 2, Now),
        };
        var plan = NetworkPlanner.Plan(Pods("m a:1 b:1!n c"), Members("m"), new Dictionary<string, int>(), state, Options, Now, 9);

        Assert.Equal(["ns/a", "ns/c"], plan.JoinStates.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1, plan.JoinStates["ns/a"].Since);
        Assert.Equal(9, plan.JoinStates["ns/c"].Since);
    }

    [Theory]
    [InlineData("m a b!n c!g", "m", "", 1)]
    [InlineData("m a b", "m a", "", 1)]
    [InlineData("m a:2", "m a:1", "", 1)]
    [InlineData("m a b", "m", "a", 1)]
    public void Pending_counts_Ready_pods_that_are_not_members_and_have_not_given_up(string pods, string members, string gaveUp, int pending)
    {
        var joins = Words(gaveUp).ToDictionary(n => "ns/" + n, _ => new JoinState("1", 0, Options.JoinAttempts, Now));
        Assert.Equal(pending, NetworkPlanner.Pending(Pods(pods), Members(members), joins, Options));
    }

    private static string[] Words(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static List<LightpeerPod> Pods(string text) => [.. Words(text).Select(word =>
    {
        var (name, uid, state) = Parse(word);
        return new LightpeerPod("net", "ns", name, uid, state == 'a' ? null : $"127.1.0.{name[0] % 200}:9081", state != 'n', state == 'g');
    })];

    private static List<NetworkMember> Members(string text) => [.. Words(text).Select(word =>
    {
        var (name, uid, _) = Parse(word);
        return new NetworkMember("ns", name, uid, $"127.1.0.{name[0] % 200}:9081", Now);
    })];

    private static (string Name, string Uid, char State) Parse(string word)
    {
        var bang = word.IndexOf('!', StringComparison.Ordinal);
        var state = bang < 0 ? 'r' : word[bang + 1];
        var head = bang < 0 ? word : word[..bang];
        var colon = head.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (head, "1", state) : (head[..colon], head[(colon + 1)..], state);
    }
}
