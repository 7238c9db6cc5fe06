using System.Net;
using Sidecars.Contracts.V1;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Lightpeer.Tests;

public sealed class LightpeerTests : IAsyncLifetime
{
    private readonly Peers _peers = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Fact]
    public async Task Join_merges_peer_sets_on_both_sides_and_announces_to_the_rest()
    {
        var a = await _peers.StartAsync();
        var b = await _peers.StartAsync();
        var c = await _peers.StartAsync();
        var d = await _peers.StartAsync();

        var joined = await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address });
        Assert.True(joined.Joined, joined.Error);
        Assert.Equal([a.Address], joined.Peers);
        Assert.Equal([b.Address], a.Node.Peers.Snapshot());

        // c joins through b and learns the merged set; d joins through c.
        Assert.True((await _peers.Client(c).JoinAsync(new JoinRequest { Address = b.Address })).Joined);
        Assert.True((await _peers.Client(d).JoinAsync(new JoinRequest { Address = c.Address })).Joined);

        var all = new[] { a, b, c, d };
        foreach (var peer in all)
        {
            var others = all.Where(p => p != peer).Select(p => p.Address);
            await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(peer), others), $"{peer.Address} knows every other peer");
        }
    }

    [Fact]
    public async Task Peer_that_stops_answering_is_dropped_and_taken_back_when_it_answers_again()
    {
        var a = await _peers.StartAsync(Peers.Options(checkInterval: TimeSpan.FromMilliseconds(100)));
        var bOptions = Peers.Options();
        var b = await _peers.StartAsync(bOptions);
        var c = await _peers.StartAsync();
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.True((await _peers.Client(c).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [b.Address, c.Address]), "a knows b and c");

        await _peers.StopAsync(b);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [c.Address]), "a dropped the stopped peer b");

        // b answers again at its address but knows nobody, so it will not call a: a's own checks must find it.
        await _peers.StartAsync(bOptions);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [b.Address, c.Address]), "a took b back", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_peer_is_Ready_only_once_in_a_network_joined_alone_or_called_by_a_member_after_a_restart()
    {
        var aOptions = Peers.Options();
        aOptions.HealthPort = 9091;
        var a = await _peers.StartAsync(aOptions);
        var bOptions = Peers.Options();
        bOptions.HealthPort = 9091;
        var b = await _peers.StartAsync(bOptions);
        using var http = new HttpClient();
        async Task<(HttpStatusCode, string)> ReadyzAsync(LightpeerOptions options)
        {
            using var response = await http.GetAsync(new Uri($"http://{options.Address}:{options.HealthPort}/readyz"));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        // Started, answering, outside any network: alive (/healthz) but not Ready, and its health answer says so.
        Assert.Equal("ok", await http.GetStringAsync(new Uri($"http://{aOptions.Address}:9091/healthz")));
        var (status, body) = await ReadyzAsync(aOptions);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("not in a network", body, StringComparison.Ordinal);
        var health = await _peers.Client(a).HealthAsync(new HealthRequest());
        Assert.True(health.HasMember && !health.Member, $"{health}");

        // The network controller makes a the first member with a join naming a itself.
        Assert.True((await _peers.Client(a).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.Equal((HttpStatusCode.OK, "ready"), await ReadyzAsync(aOptions));
        Assert.True((await _peers.Client(a).HealthAsync(new HealthRequest())).Member);
        Assert.Empty(a.Node.Peers.Snapshot());

        // b joins through a: Ready.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ReadyzAsync(bOptions)).Item1);
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.Equal((HttpStatusCode.OK, "ready"), await ReadyzAsync(bOptions));

        // b restarts: outside the network again until a member calls it; a's next round of checks does.
        await _peers.StopAsync(b);
        b = await _peers.StartAsync(bOptions);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ReadyzAsync(bOptions)).Item1);
        Assert.False((await _peers.Client(b).HealthAsync(new HealthRequest())).Member);
        await a.Node.CheckPeersAsync(CancellationToken.None);
        Assert.Equal((HttpStatusCode.OK, "ready"), await ReadyzAsync(bOptions));
        Assert.True((await _peers.Client(b).HealthAsync(new HealthRequest())).Member);
        Assert.Equal([a.Address], b.Node.Peers.Snapshot());
    }

    [Fact]
    public async Task A_restarted_peer_is_sent_the_set_at_its_first_check_and_its_new_incarnation_goes_round()
    {
        var a = await _peers.StartAsync();
        var bOptions = Peers.Options();
        var b = await _peers.StartAsync(bOptions);
        var c = await _peers.StartAsync();
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.True((await _peers.Client(c).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(c), [a.Address, b.Address]), "c knows a and b");
        var before = (await _peers.Client(b).HealthAsync(new HealthRequest())).Incarnation;

        // b restarts at its address: a fresh process that knows nobody, at a higher incarnation.
        await _peers.StopAsync(b);
        b = await _peers.StartAsync(bOptions);
        var after = (await _peers.Client(b).HealthAsync(new HealthRequest())).Incarnation;
        Assert.True(after > before, $"incarnation {after} after the restart, {before} before");
        Assert.Empty(b.Node.Peers.Snapshot());

        // One round of a's checks (its interval is ten minutes: only this round runs) finds b restarted and sends it the set.
        await a.Node.CheckPeersAsync(CancellationToken.None);
        Assert.Equal(new[] { a.Address, c.Address }.Order(StringComparer.Ordinal), b.Node.Peers.Snapshot());
        Assert.Equal(after, a.Node.Peers.IncarnationOf(b.Address));
        await Eventually.HoldsAsync(
            async () => (c.Node.Peers.IncarnationOf(b.Address) == after, $"c knows b at {c.Node.Peers.IncarnationOf(b.Address)}"),
            "c heard of b's new incarnation");
    }

    [Fact]
    public async Task A_peer_told_to_join_again_is_taken_back_by_a_member_that_forgot_it_from_gossip_alone()
    {
        var a = await _peers.StartAsync();
        var b = await _peers.StartAsync();
        var c = await _peers.StartAsync();
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.True((await _peers.Client(c).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(c), [a.Address, b.Address]), "c knows a and b");

        // c is told to forget b; b joins again through a, and a's announcement of it never reaches c (as on a loaded
        // node): c hears b's raised incarnation only from a's set, in an exchange that vouches for nobody.
        Assert.Equal(1, (await _peers.Client(c).ForgetAsync(new ForgetRequest { Addresses = { b.Address } })).Removed);
        var rejoinedAt = b.Node.Peers.Rejoin();
        await _peers.Client(a).ExchangeAsync(new ExchangeRequest
        {
            From = b.Address,
            Incarnation = rejoinedAt,
            Members = { new PeerIncarnation { Address = a.Address, Incarnation = a.Node.Peers.Incarnation } },
        });
        Assert.Equal(rejoinedAt, a.Node.Peers.IncarnationOf(b.Address));
        var gossip = new ExchangeRequest { From = a.Address, Incarnation = a.Node.Peers.Incarnation };
        gossip.Members.AddRange(a.Node.Peers.Entries().Select(e => new PeerIncarnation { Address = e.Address, Incarnation = e.Incarnation }));
        await _peers.Client(c).ExchangeAsync(gossip);
        Assert.Equal(new[] { a.Address, b.Address }.Order(StringComparer.Ordinal), c.Node.Peers.Snapshot());
    }

    [Fact]
    public async Task Forgotten_peers_are_not_checked_again()
    {
        var a = await _peers.StartAsync(Peers.Options(checkInterval: TimeSpan.FromMilliseconds(100)));
        var b = await _peers.StartAsync();
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [b.Address]), "a knows b");

        Assert.Equal(1, (await _peers.Client(a).ForgetAsync(new ForgetRequest { Addresses = { b.Address } })).Removed);
        for (var round = 0; round < 5; round++)
        {
            await a.Node.CheckPeersAsync(CancellationToken.None);
        }

        Assert.Empty(a.Node.Peers.Snapshot());
        Assert.Empty(a.Node.Peers.Suspects(10));
    }

    [Fact]
    public async Task Peer_whose_health_checks_fail_is_kept_while_it_still_gossips()
    {
        var a = await _peers.StartAsync(Peers.Options(checkInterval: TimeSpan.FromMilliseconds(100), failureThreshold: 2));
        await using var busy = await SlowToCheckPeer.StartAsync(a.Address);
        var c = await _peers.StartAsync();
        Assert.True((await _peers.Client(c).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        await _peers.Client(a).ExchangeAsync(new ExchangeRequest { From = busy.Address });
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [busy.Address, c.Address]), "a knows the busy peer and c");

        // Every check fails, but the busy peer calls a before each answer: two failures in a row never happen.
        await Eventually.HoldsAsync(async () => (busy.HealthChecks >= 6, $"{busy.HealthChecks} health checks"), "a checked the busy peer six times");
        Assert.Contains(busy.Address, (await _peers.Client(a).PeersAsync(new PeersRequest())).Peers);

        busy.Gossiping = false;
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [c.Address]), "a dropped the busy peer once it went silent too");
    }

    [Fact]
    public async Task Health_checks_take_the_peers_a_batch_at_a_time()
    {
        var options = Peers.Options();
        options.ChecksPerInterval = 1;
        var a = await _peers.StartAsync(options);
        var others = new List<Sidecars.Lightpeer.LightpeerServer>();
        for (var i = 0; i < 4; i++)
        {
            var peer = await _peers.StartAsync();
            others.Add(peer);
            Assert.True((await _peers.Client(peer).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        }

        await _peers.StopAsync(others[1]);
        await _peers.StopAsync(others[3]);

        // One peer checked per round: a round drops at most one, and rounds go on through the whole set.
        var known = new List<int>();
        for (var round = 0; round < 8 && a.Node.Peers.Count > 2; round++)
        {
            var before = a.Node.Peers.Count;
            await a.Node.CheckPeersAsync(CancellationToken.None);
            Assert.True(before - a.Node.Peers.Count <= 1, $"round {round} dropped {before - a.Node.Peers.Count} peers");
            known.Add(a.Node.Peers.Count);
        }

        Assert.Equal(new[] { others[0].Address, others[2].Address }.Order(StringComparer.Ordinal), a.Node.Peers.Snapshot().Order(StringComparer.Ordinal));
        Assert.True(known.Count >= 2, $"took {known.Count} rounds");
    }

    [Fact]
    public async Task News_spreads_through_gossip_without_waiting_for_the_interval()
    {
        // Two networks of three, formed apart, with the periodic rounds ten minutes away.
        var first = new[] { await _peers.StartAsync(), await _peers.StartAsync(), await _peers.StartAsync() };
        var second = new[] { await _peers.StartAsync(), await _peers.StartAsync(), await _peers.StartAsync() };
        foreach (var group in new[] { first, second })
        {
            Assert.True((await _peers.Client(group[1]).JoinAsync(new JoinRequest { Address = group[0].Address })).Joined);
            Assert.True((await _peers.Client(group[2]).JoinAsync(new JoinRequest { Address = group[1].Address })).Joined);
        }

        // One member of the first joins through one of the second: the second's contact announces to its own peers,
        // and the joiner's earlier peers hear of the second network by gossip.
        Assert.True((await _peers.Client(first[2]).JoinAsync(new JoinRequest { Address = second[0].Address })).Joined);

        var all = first.Concat(second).ToArray();
        foreach (var peer in all)
        {
            var rest = all.Where(p => p != peer).Select(p => p.Address);
            await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(peer), rest), $"{peer.Address} knows every other peer", TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task Forgotten_peer_is_not_learnt_again_from_gossip()
    {
        var a = await _peers.StartAsync();
        var b = await _peers.StartAsync();
        var cOptions = Peers.Options();
        var c = await _peers.StartAsync(cOptions);
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.True((await _peers.Client(c).JoinAsync(new JoinRequest { Address = b.Address })).Joined);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [b.Address, c.Address]), "a knows b and c");
        // A forget keeps out the incarnation the forgetting peer knew: wait until a knows c's own (from b's announcement
        // a may first know an older one, which b's later gossip would rightly replace).
        await Eventually.UntilAsync(
            () => a.Node.Peers.Entries().Any(e => e.Address == c.Address && e.Incarnation == c.Node.Peers.Incarnation),
            "a knows c at c's incarnation");

        // c goes away, as a purged pod has, and a is told to forget it.
        await _peers.StopAsync(c);
        var forgotten = await _peers.Client(a).ForgetAsync(new ForgetRequest { Addresses = { c.Address } });
        Assert.Equal(1, forgotten.Removed);

        // b still lists c; an exchange with b must not bring c back.
        await a.Node.CheckPeersAsync(CancellationToken.None);
        Assert.Equal([b.Address], a.Node.Peers.Snapshot());

        // ...but c, back at the same address and contacting a itself, does.
        var back = await _peers.StartAsync(cOptions);
        Assert.True((await _peers.Client(back).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.Contains(c.Address, a.Node.Peers.Snapshot());
    }

    [Fact]
    public async Task Purged_peer_that_rejoins_is_taken_back_by_peers_it_does_not_contact_itself()
    {
        var a = await _peers.StartAsync();
        var b = await _peers.StartAsync();
        var c = await _peers.StartAsync();
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);
        Assert.True((await _peers.Client(c).JoinAsync(new JoinRequest { Address = b.Address })).Joined);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [b.Address, c.Address]), "a knows b and c");
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(c), [a.Address, b.Address]), "c knows a and b");

        // The controller purged c (it missed health checks) and told a and b to forget it; c itself still knows both.
        foreach (var peer in new[] { a, b })
        {
            Assert.Equal(1, (await _peers.Client(peer).ForgetAsync(new ForgetRequest { Addresses = { c.Address } })).Removed);
        }

        // c rejoins through b. It learns nothing new, so only b's announcement can tell a that c is back.
        var rejoin = await _peers.Client(c).JoinAsync(new JoinRequest { Address = b.Address });
        Assert.True(rejoin.Joined);
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(b), [a.Address, c.Address]), "b knows c again");
        await Eventually.HoldsAsync(() => Peers.KnowsExactly(_peers.Client(a), [b.Address, c.Address]), "a knows c again", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Announcement_of_a_join_that_a_peer_refuses_is_sent_again()
    {
        var options = Peers.Options();
        await using var busy = await ScriptedPeer.StartAsync(options.Address, options.Port, holdJoins: false, refuseAnnouncements: 1);
        var a = await _peers.StartAsync();
        Assert.True((await _peers.Client(a).JoinAsync(new JoinRequest { Address = busy.Address })).Joined);

        // b joins through a, which announces b to its one other peer: the first announcement is refused.
        var b = await _peers.StartAsync();
        Assert.True((await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address })).Joined);

        Assert.Equal(b.Address, await busy.Announced.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, busy.Announcements);
    }

    [Fact]
    public async Task Join_through_unreachable_peer_reports_the_failure()
    {
        var a = await _peers.StartAsync();
        var dead = Peers.Options().SelfAddress;
        var response = await _peers.Client(a).JoinAsync(new JoinRequest { Address = dead });
        Assert.False(response.Joined);
        Assert.Contains(dead, response.Error, StringComparison.Ordinal);
        Assert.Empty(a.Node.Peers.Snapshot());
    }

    [Fact]
    public async Task Health_reports_self_and_peer_count()
    {
        var a = await _peers.StartAsync();
        var b = await _peers.StartAsync();
        await _peers.Client(b).JoinAsync(new JoinRequest { Address = a.Address });
        var health = await _peers.Client(a).HealthAsync(new HealthRequest());
        Assert.Equal((a.Address, 1), (health.Self, health.Peers));
    }
}
