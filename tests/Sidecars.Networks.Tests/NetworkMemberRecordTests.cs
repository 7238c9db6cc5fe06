namespace Sidecars.Networks.Tests;

/// <summary>The membership record on a lightpeer pod, and what the leader writes so the pods say what its members are.</summary>
public sealed class NetworkMemberRecordTests
{
    private static readonly DateTimeOffset Joined = new(2030, 1, 1, 0, 0, 0, 125, TimeSpan.Zero);

    [Theory]
    [InlineData("net 10.0.0.5:9081 2030-01-01T00:00:00.125Z", "10.0.0.5:9081")]
    [InlineData("net [fd00::5]:9081 2030-01-01T00:00:00.125Z", "[fd00::5]:9081")]
    // Of another network (the pod's label changed), malformed, or absent: no member.
    [InlineData("other 10.0.0.5:9081 2030-01-01T00:00:00.125Z", null)]
    [InlineData("net 10.0.0.5:9081", null)]
    [InlineData("net 10.0.0.5:9081 yesterday", null)]
    [InlineData("net 10.0.0.5:9081 2030-01-01T00:00:00.125Z extra", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Parses_the_record_of_its_own_network_only(string? value, string? address)
    {
        var member = NetworkMemberRecord.Parse(value, "net", "ns", "p", "u1");
        Assert.Equal(address, member?.Address);
        if (member is not null)
        {
            Assert.Equal(new NetworkMember("ns", "p", "u1", address!, Joined), member);
        }
    }

    [Fact]
    public void A_member_round_trips_through_its_record()
    {
        var member = new NetworkMember("ns", "p", "u1", "10.0.0.5:9081", NetworkMemberRecord.Precision(Joined.AddTicks(4321)));
        Assert.Equal(member, NetworkMemberRecord.Parse(NetworkMemberRecord.Format("net", member), "net", "ns", "p", "u1"));
    }

    /// <summary>Pods <c>name[:uid][!g][=recorded-uid]</c> (g: on its way out; =: carries a record); members <c>name[:uid]</c>.</summary>
    [Theory]
    // In line: nothing to write.
    [InlineData("a=1 b", "a", "")]
    // A new member gets its record; a pod that is no longer a member loses it.
    [InlineData("a b", "a b", "a:set b:set")]
    [InlineData("a=1 b=1", "b", "a:clear")]
    // A replaced pod (new uid) carries no record and is not a member by the old uid.
    [InlineData("a:2", "a:1", "")]
    // A pod on its way out is left alone.
    [InlineData("a!g=1 b!g", "b", "")]
    public void Writes_what_the_pods_lack(string pods, string members, string expected)
    {
        var changes = NetworkPlanner.Records(Pods(pods), Members(members));
        Assert.Equal(Words(expected), changes.Select(c => $"{c.Pod.Name}:{(c.Member is null ? "clear" : "set")}"));
    }

    [Fact]
    public void Every_replica_lists_the_recorded_members_newest_first()
    {
        var pods = Pods("a=1 b=1 c d!g=1");
        var recorded = NetworkPlanner.Recorded(pods);
        Assert.Equal(["b", "a"], recorded.Select(m => m.Pod));
    }

    private static List<LightpeerPod> Pods(string text) => [.. Words(text).Select(word =>
    {
        var record = word.Split('=');
        var gone = record[0].EndsWith("!g", StringComparison.Ordinal);
        var head = gone ? record[0][..^2] : record[0];
        var (name, uid) = head.Contains(':', StringComparison.Ordinal) ? (head.Split(':')[0], head.Split(':')[1]) : (head, "1");
        var recorded = record.Length > 1 ? Member(name, record[1]) : null;
        return new LightpeerPod("net", "ns", name, uid, Address(name), Ready: true, gone, recorded);
    })];

    private static List<NetworkMember> Members(string text) => [.. Words(text).Select(word =>
        word.Contains(':', StringComparison.Ordinal) ? Member(word.Split(':')[0], word.Split(':')[1]) : Member(word, "1"))];

    /// <summary>Later names joined later.</summary>
    private static NetworkMember Member(string name, string uid) => new("ns", name, uid, Address(name), Joined.AddSeconds(name[0]));

    private static string Address(string name) => $"127.1.0.{name[0] % 200}:9081";

    private static string[] Words(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
