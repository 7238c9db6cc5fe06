namespace Sidecars.Networks.Tests;

public sealed class MemberSelectionTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UnixEpoch;

    /// <summary>Members m3 (newest), m2, m1; per member what the attempt returns; expected outcome, via and dropped.</summary>
    public static TheoryData<string, string, JoinOutcome, string?, string> Table() => new()
    {
        { "no members: first member", "", JoinOutcome.First, null, "" },
        { "newest answers", "m3=J", JoinOutcome.Joined, "m3", "" },
        { "newest dead, next answers", "m3=M,m2=J", JoinOutcome.Joined, "m2", "m3" },
        { "two dead", "m3=M,m2=M,m1=J", JoinOutcome.Joined, "m1", "m3,m2" },
        { "all dead: first member", "m3=M,m2=M,m1=M", JoinOutcome.First, null, "m3,m2,m1" },
        { "new pod silent: stop, drop nobody", "m3=P", JoinOutcome.PodUnreachable, null, "" },
        { "dead member then silent pod", "m3=M,m2=P", JoinOutcome.PodUnreachable, null, "m3" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public async Task Join_follows_newest_first_rule(string description, string script, JoinOutcome outcome, string? via, string dropped)
    {
        var answers = script.Length == 0 ? [] : script.Split(',').Select(s => s.Split('=')).ToDictionary(p => p[0], p => p[1]);
        var members = (script.Length == 0 ? Array.Empty<string>() : ["m3", "m2", "m1"])
            .Select((name, i) => new NetworkMember("ns", name, name, name + ":9081", T0.AddSeconds(-i))).ToList();
        var tried = new List<string>();
        var result = await MemberSelection.JoinThroughAsync(members, m =>
        {
            tried.Add(m.Pod);
            return Task.FromResult(answers[m.Pod] switch { "J" => JoinAttempt.Joined, "M" => JoinAttempt.MemberUnreachable, _ => JoinAttempt.PodUnreachable });
        });
        Assert.True(outcome == result.Outcome, description);
        Assert.Equal(via, result.Via?.Pod);
        Assert.Equal(dropped, string.Join(",", result.Dropped.Select(d => d.Pod)));
        Assert.Equal(answers.Keys, tried);
    }
}
