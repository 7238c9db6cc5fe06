using Sidecars.Lightpeer;

namespace Sidecars.Lightpeer.Tests;

public sealed class PeerSetTests
{
    private readonly PeerSet _set = new("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), TimeProvider.System);

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
        var set = new PeerSet("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), time);
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
        var set = new PeerSet("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), time);
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
    public void A_forgotten_peer_is_kept_out_at_its_incarnation_and_taken_back_from_any_gossip_at_a_higher_one()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), time);
        set.Merge([new PeerEntry("a:1", 5), new PeerEntry("b:1", 5)]);
        Assert.Equal(["a:1"], set.Remove(["a:1"]));

        // Gossip from a peer that has not heard of the forget yet: the same incarnation, or an older one, stays out.
        Assert.Empty(set.Merge([new PeerEntry("a:1", 5), new PeerEntry("b:1", 5)]));
        Assert.Empty(set.Merge([new PeerEntry("a:1", 3)]));
        Assert.Empty(set.Merge(["a:1"]));

        // a joined again (or restarted): whoever passes the higher incarnation on brings it back, long before the tombstone expires.
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["a:1"], set.Merge([new PeerEntry("a:1", 6)]));
        Assert.Equal(6UL, set.IncarnationOf("a:1"));
        Assert.Equal(["a:1", "b:1"], set.Snapshot());
    }

    [Fact]
    public void A_restarted_peer_dropped_for_not_answering_is_taken_back_from_gossip_and_is_no_longer_a_suspect()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), time);
        set.Merge([new PeerEntry("a:1", 5)]);
        set.Remove(["a:1"], unanswered: true);
        Assert.Equal(["a:1"], set.Suspects(10));

        Assert.Equal(["a:1"], set.Merge([new PeerEntry("a:1", 9)]));
        Assert.Empty(set.Suspects(10));

        // Forgotten again later, it is kept out at the incarnation it was known at when forgotten.
        Assert.Equal(["a:1"], set.Remove(["a:1"]));
        Assert.Empty(set.Merge([new PeerEntry("a:1", 9)]));
        Assert.Equal(["a:1"], set.Merge([new PeerEntry("a:1", 10)]));
    }

    [Fact]
    public void An_address_forgotten_before_it_was_known_keeps_out_only_peers_without_an_incarnation()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), time);
        Assert.Empty(set.Remove(["z:1"]));
        Assert.Empty(set.Merge(["z:1"]));
        Assert.Equal(["z:1"], set.Merge([new PeerEntry("z:1", 1)]));
    }

    [Fact]
    public void A_higher_incarnation_of_a_known_peer_is_news_and_a_lower_or_equal_one_is_not()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), time);
        set.Merge([new PeerEntry("a:1", 5)]);
        var changed = set.View().Changed;
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Empty(set.Merge([new PeerEntry("a:1", 5)]));
        Assert.Empty(set.Merge([new PeerEntry("a:1", 4)], direct: new PeerEntry("a:1", 2)));
        Assert.Equal(5UL, set.IncarnationOf("a:1"));
        Assert.Equal(["a:1"], set.Merge([], direct: new PeerEntry("a:1", 8)));
        Assert.Equal([new PeerEntry("a:1", 8)], set.Entries());

        // The set did not gain or lose a peer: a restart is news to gossip, not a membership change.
        Assert.Equal(changed, set.View().Changed);
    }

    [Fact]
    public void Rejoining_raises_our_incarnation_and_gossip_that_says_we_are_above_it_raises_it_past_that()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", 7, TimeSpan.FromMinutes(1), time);
        Assert.Equal(8UL, set.Rejoin());

        // Peers that know us at our incarnation (or an older one) are right: nothing to raise, no news.
        Assert.Empty(set.Merge([new PeerEntry("10.0.0.1:9081", 7), new PeerEntry("10.0.0.1:9081", 8)]));
        Assert.Equal(8UL, set.Incarnation);

        Assert.Equal(["10.0.0.1:9081"], set.Merge([new PeerEntry("10.0.0.1:9081", 20), new PeerEntry("a:1", 1)]).Where(a => a != "a:1"));
        Assert.Equal(21UL, set.Incarnation);
        Assert.DoesNotContain("10.0.0.1:9081", set.Snapshot());
    }

    [Fact]
    public void A_process_started_later_starts_above_every_rejoin_of_an_earlier_one()
    {
        var time = new ManualTime();
        var earlier = new PeerSet("10.0.0.1:9081", PeerSet.FirstIncarnation(time), TimeSpan.FromMinutes(1), time);
        for (var i = 0; i < 10_000; i++)
        {
            earlier.Rejoin();
        }

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(PeerSet.FirstIncarnation(time) > earlier.Incarnation);
    }

    [Fact]
    public void Tombstones_expire_after_the_forget_period_whatever_the_incarnation()
    {
        var time = new ManualTime();
        var set = new PeerSet("10.0.0.1:9081", 1, TimeSpan.FromMinutes(1), time);
        set.Merge([new PeerEntry("a:1", 5)]);
        set.Remove(["a:1"]);
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Empty(set.Merge([new PeerEntry("a:1", 5)]));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["a:1"], set.Merge([new PeerEntry("a:1", 5)]));
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
