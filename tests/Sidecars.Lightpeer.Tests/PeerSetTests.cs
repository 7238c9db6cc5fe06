using Sidecars.Lightpeer;

namespace Sidecars.Lightpeer.Tests;

public sealed class PeerSetTests
{
    private readonly PeerSet _set = new("10.0.0.1:9081", TimeSpan.FromMinutes(1), TimeProvider.System);

    [Fact]
    public void Merge_adds_new_addresses_but_never_self()
    {
        Assert.Equal(["a:1", "b:1"], _set.Merge(["a:1", "10.0.0.1:9081", "b:1", "a:1"]));
        Assert.Empty(_set.Merge(["b:1"]));
        Assert.Equal(["c:1"], _set.Merge([], direct: "c:1"));
        Assert.Equal(["a:1", "b:1", "c:1"], _set.Snapshot());
    }

    [Fact]
    public void Removed_addresses_stay_out_of_gossip_until_they_call_themselves()
    {
        _set.Merge(["a:1", "b:1"]);
        Assert.Equal(["a:1"], _set.Remove(["a:1", "zz:1"]));
        Assert.Empty(_set.Merge(["a:1"]));
        Assert.Empty(_set.Merge(["zz:1"]));
        Assert.Equal(["a:1"], _set.Merge([], direct: "a:1"));
    }

    [Fact]
    public void A_peer_vouched_for_comes_back_but_the_rest_of_the_gossip_stays_out()
    {
        _set.Merge(["a:1", "b:1", "c:1"]);
        _set.Remove(["b:1", "c:1"]);
        Assert.Equal(["b:1"], _set.Merge(["b:1", "c:1"], direct: "a:1", vouched: "b:1"));
        Assert.Equal(["a:1", "b:1"], _set.Snapshot());
        Assert.Empty(_set.Merge(["c:1"]));
    }

    [Fact]
    public void Peers_dropped_for_not_answering_are_suspects_until_taken_back_forgotten_or_expired()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", TimeSpan.FromMinutes(1), time);
        set.Merge(["a:1", "b:1", "c:1"]);
        set.Remove(["a:1"], unanswered: true);
        time.Advance(TimeSpan.FromSeconds(1));
        set.Remove(["b:1"], unanswered: true);
        set.Remove(["c:1"]);
        Assert.Equal(["a:1", "b:1"], set.Suspects(10));
        Assert.Equal(["a:1"], set.Suspects(1));

        Assert.Equal(["a:1"], set.Merge([], direct: "a:1"));
        set.Remove(["b:1"]);
        Assert.Empty(set.Suspects(10));

        set.Remove(["a:1"], unanswered: true);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Empty(set.Suspects(10));
    }

    [Fact]
    public void A_forgotten_peer_whose_check_fails_afterwards_does_not_become_a_suspect()
    {
        _set.Merge(["a:1"]);
        Assert.Equal(["a:1"], _set.Remove(["a:1"]));

        // The round that checked a:1 before it was forgotten sees the check fail (its channel was closed by the forget).
        Assert.Empty(_set.Remove(["a:1"], unanswered: true));

        Assert.Empty(_set.Suspects(10));
        Assert.Empty(_set.Merge(["a:1"]));
    }

    [Fact]
    public void The_view_says_when_the_set_last_gained_or_lost_a_peer()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", TimeSpan.FromMinutes(1), time);
        Assert.Null(set.View().Changed);

        set.Merge(["a:1"]);
        var added = time.GetUtcNow();
        time.Advance(TimeSpan.FromSeconds(5));
        set.Merge(["a:1", "10.0.0.1:9081"]);
        set.Remove(["zz:1"]);
        Assert.Equal(["a:1"], set.View().Peers);
        Assert.Equal(added, set.View().Changed);

        time.Advance(TimeSpan.FromSeconds(5));
        set.Remove(["a:1"]);
        Assert.Equal(time.GetUtcNow(), set.View().Changed);
        Assert.Empty(set.View().Peers);
    }

    [Fact]
    public void Options_parse_arguments_and_pod_ip()
    {
        var options = LightpeerOptions.Parse(["--port", "7000", "--check-interval", "0.5"], name => name == "POD_IP" ? "127.3.4.5" : null);
        Assert.Equal("127.3.4.5:7000", options.SelfAddress);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.CheckInterval);
        Assert.Equal(9091, options.HealthPort);
        Assert.Throws<FormatException>(() => LightpeerOptions.Parse(["--port"], _ => null));
        Assert.Throws<FormatException>(() => LightpeerOptions.Parse(["--bogus", "1"], _ => null));
        Assert.Throws<FormatException>(() => LightpeerOptions.Parse([], _ => "not-an-ip"));
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
