using Grpc.Core;
using Microsoft.Extensions.Logging;
using Sidecars.Contracts.V1;

namespace Sidecars.Lightpeer;

/// <summary>The behaviour of one lightpeer: joining, exchanging and announcing peer sets, checking and dropping peers.</summary>
public sealed partial class LightpeerNode : IDisposable
{
    /// <summary>Exchanges in a row that teach nobody anything before gossip rests until the next news.</summary>
    private const int GossipPatience = 3;

    /// <summary>Dropped peers checked again per interval.</summary>
    private const int SuspectsPerInterval = 2;

    /// <summary>
    /// Tries per peer to announce a join. The announcement spreads the news faster; a peer that misses it still takes a
    /// rejoined peer back from gossip at its raised incarnation (only peers that predate incarnations depend on it).
    /// </summary>
    private const int AnnounceAttempts = 3;

    private readonly LightpeerOptions _options;
    private readonly PeerClients _clients;
    private readonly ILogger<LightpeerNode> _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly Lock _failuresLock = new();
    private int _nextCheck;
    private int _gossiping;
    private int _news;
    private int _member;

    /// <param name="tls">Peer credentials: with them every peer is called over mutual TLS.</param>
    public LightpeerNode(LightpeerOptions options, TimeProvider time, ILogger<LightpeerNode> logger, PeerTls? tls = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        _time = time;
        Peers = new PeerSet(options.SelfAddress, PeerSet.FirstIncarnation(time), options.ForgetFor, time);
        _clients = new PeerClients(options.CallTimeout, tls);
        LightpeerMetrics.Peers.Set(0);
    }

    public PeerSet Peers { get; }

    public string Self => Peers.Self;

    /// <summary>
    /// In a network: joined (through a peer, or alone by a join naming ourselves) or called by a member since this
    /// process started. Until then the lightpeer is not Ready, so neither is its pod; once a member it stays one (a
    /// purged member is joined again by the network controller, which needs no readiness signal for it).
    /// </summary>
    public bool IsMember => Volatile.Read(ref _member) == 1;

    /// <summary>
    /// Joins through the peer at <paramref name="address"/>: both sides merge; the other side announces. A join raises
    /// our incarnation first: the network controller only joins a pod that is not a member, so members may have been
    /// told to forget us, and the raised incarnation is what lets them take us back from any gossip, not only from the
    /// announcement.
    /// </summary>
    public async Task<JoinResponse> JoinAsync(string address, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "join needs the address (host:port) of a peer"));
        }

        if (address == Self)
        {
            BecomeMember("joined alone as", Self);
            return new JoinResponse { Joined = true, Peers = { Peers.Snapshot() } };
        }

        try
        {
            Peers.Rejoin();
            var request = Request(announce: true);
            var response = await _clients.Get(address).ExchangeAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
            Learn(Entries(response), new PeerEntry(response.Self, response.Incarnation));
            if (Peers.Count > 1)
            {
                // Our earlier peers do not know the network we joined nor our raised incarnation: the contact announces
                // us to its peers only, and a peer it misses must still hear of us.
                Gossip(except: address);
            }

            LightpeerMetrics.Exchanges.WithLabels("out", "ok").Inc();
            Heard(address);
            BecomeMember("joined through", address);
            Log.Joined(_logger, Self, address, Peers.Count);
            return new JoinResponse { Joined = true, Peers = { Peers.Snapshot() } };
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            LightpeerMetrics.Exchanges.WithLabels("out", "failed").Inc();
            Log.JoinFailed(_logger, Self, address, e.Status.Detail);
            return new JoinResponse { Joined = false, Error = $"{address}: {e.StatusCode}: {e.Status.Detail}" };
        }
    }

    /// <summary>Merges the caller's set, answers with ours and, on a join, passes the news to our other peers.</summary>
    public ExchangeResponse Exchange(ExchangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var before = Peers.Snapshot();
        var entries = Entries(request);
        var joined = string.IsNullOrEmpty(request.Joined) ? (PeerEntry?)null
            : new PeerEntry(request.Joined, entries.FirstOrDefault(e => e.Address == request.Joined).Incarnation);
        var added = Learn(entries, new PeerEntry(request.From, request.Incarnation), joined);
        Heard(request.From);
        BecomeMember("called by", request.From);
        LightpeerMetrics.Exchanges.WithLabels("in", "ok").Inc();
        if (request.Announce && !string.IsNullOrEmpty(request.From))
        {
            // Even a joiner that teaches us nothing is announced: a purged pod rejoining still knows everyone, but
            // they all keep it out until they hear that it is back.
            var news = Peers.Entries();
            var targets = before.Where(p => p != request.From).ToArray();
            _ = Task.Run(() => AnnounceAsync(targets, news, request.From));
        }
        else if (added.Count > 0)
        {
            Gossip(except: request.From);
        }

        var ours = Peers.Entries();
        return new ExchangeResponse
        {
            Self = Self,
            Incarnation = Peers.Incarnation,
            Peers = { ours.Select(e => e.Address) },
            Members = { ours.Select(Wire) },
            Learnt = added.Count,
        };
    }

    public int Forget(IEnumerable<string> addresses)
    {
        var removed = Peers.Remove(addresses);
        Drop(removed, "forgotten");
        return removed.Count;
    }

    /// <summary>
    /// One round of maintenance: health-check the next batch of peers and, alongside, a few peers dropped earlier for
    /// not answering; drop those over the failure threshold, take back those that answer again, and exchange with one
    /// random peer.
    /// </summary>
    public async Task CheckPeersAsync(CancellationToken cancellationToken)
    {
        var rechecks = CheckAsync(Peers.Suspects(SuspectsPerInterval), cancellationToken);
        var results = await CheckAsync(NextBatch(Peers.Snapshot()), cancellationToken);
        var dead = new List<string>();
        lock (_failuresLock)
        {
            foreach (var (peer, ok, _) in results)
            {
                if (ok)
                {
                    _failures.Remove(peer);
                }
                else if ((_failures[peer] = _failures.GetValueOrDefault(peer) + 1) >= _options.FailureThreshold)
                {
                    dead.Add(peer);
                }
            }
        }

        Drop(Peers.Remove(dead, unanswered: true), "unreachable");
        TakeBack([.. (await rechecks).Where(r => r.Ok).Select(r => new PeerEntry(r.Peer, r.Incarnation))]);
        await WelcomeRestartedAsync(results, cancellationToken);
        var alive = results.Where(r => r.Ok).Select(r => r.Peer).ToArray();
        if (alive.Length > 0)
        {
            var partner = alive[Random.Shared.Next(alive.Length)];
            if (await ExchangeWithAsync(partner, cancellationToken))
            {
                Gossip(except: partner);
            }
        }
    }

    public void Dispose() => _clients.Dispose();

    /// <summary>Called on every join and incoming exchange: only the first call, which makes us a member, does anything.</summary>
    private void BecomeMember(string how, string peer)
    {
        if (Interlocked.Exchange(ref _member, 1) == 0)
        {
            LightpeerMetrics.Member.Set(1);
            Log.BecameMember(_logger, Self, how, peer);
        }
    }

    /// <summary>
    /// Takes back peers dropped for not answering that answer now: on a loaded node a live peer can miss its checks,
    /// and waiting for it to call us, or for the tombstone to expire, leaves the set short.
    /// </summary>
    private void TakeBack(IReadOnlyList<PeerEntry> answering)
    {
        foreach (var peer in answering)
        {
            Learn([], peer);
            LightpeerMetrics.TakenBack.Inc();
            Log.TakenBack(_logger, Self, peer.Address);
        }

        if (answering.Count > 0)
        {
            Gossip(except: null);
        }
    }

    /// <summary>
    /// Peers that answered a check at a higher incarnation than we knew restarted and know nobody: they learn our set
    /// at once (one exchange each) instead of waiting to be picked for one, and their new incarnation goes round.
    /// </summary>
    private async Task WelcomeRestartedAsync(IReadOnlyList<(string Peer, bool Ok, ulong Incarnation)> results, CancellationToken cancellationToken)
    {
        var restarted = results.Where(r => r.Ok && r.Incarnation > (Peers.IncarnationOf(r.Peer) ?? ulong.MaxValue)).ToArray();
        if (restarted.Length == 0)
        {
            return;
        }

        foreach (var (peer, _, incarnation) in restarted)
        {
            Log.Restarted(_logger, Self, peer, incarnation);
        }

        Learn(restarted.Select(r => new PeerEntry(r.Peer, r.Incarnation)), null);
        await Task.WhenAll(restarted.Select(r => ExchangeWithAsync(r.Peer, cancellationToken)));
        Gossip(except: null);
    }

    private Task<(string Peer, bool Ok, ulong Incarnation)[]> CheckAsync(IEnumerable<string> peers, CancellationToken cancellationToken) =>
        Task.WhenAll(peers.Select(async p =>
        {
            var incarnation = await IncarnationIfHealthyAsync(p, cancellationToken);
            return (Peer: p, Ok: incarnation is not null, Incarnation: incarnation ?? 0);
        }));

    /// <summary>The next peers to check, in turn through the sorted set, at most the configured number.</summary>
    private IReadOnlyList<string> NextBatch(IReadOnlyList<string> peers)
    {
        if (peers.Count <= _options.ChecksPerInterval)
        {
            return peers;
        }

        var start = (int)((uint)Interlocked.Add(ref _nextCheck, _options.ChecksPerInterval) % (uint)peers.Count);
        return [.. Enumerable.Range(0, _options.ChecksPerInterval).Select(i => peers[(start + i) % peers.Count])];
    }

    /// <summary>
    /// Passes news on at once instead of at the next interval: one exchange at a time with a random peer, repeated
    /// while exchanges still teach one side something, until a few in a row find both sides alike. Every peer that
    /// learns does the same, so news spreads like an epidemic; once every peer knows the same set it stops.
    /// </summary>
    private void Gossip(string? except)
    {
        Interlocked.Exchange(ref _news, 1);
        if (Interlocked.CompareExchange(ref _gossiping, 1, 0) == 0)
        {
            _ = Task.Run(() => GossipAsync(except));
        }
    }

    private async Task GossipAsync(string? except)
    {
        try
        {
            Interlocked.Exchange(ref _news, 0);
            var idle = 0;
            while (idle < GossipPatience)
            {
                // Partners in a fresh random order, none twice in a pass, so a pass reaches peers the last one missed.
                var order = Peers.Snapshot().Where(p => p != except).ToArray();
                Random.Shared.Shuffle(order);
                except = null;
                if (order.Length == 0)
                {
                    break;
                }

                foreach (var partner in order)
                {
                    var useful = await ExchangeWithAsync(partner, CancellationToken.None);
                    idle = useful || Interlocked.Exchange(ref _news, 0) == 1 ? 0 : idle + 1;
                    if (idle >= GossipPatience)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _gossiping, 0);
            if (Volatile.Read(ref _news) == 1)
            {
                Gossip(except: null);
            }
        }
    }

    private IReadOnlyList<string> Learn(IEnumerable<PeerEntry> peers, PeerEntry? direct, PeerEntry? vouched = null)
    {
        var added = Peers.Merge(peers, direct, vouched);
        LightpeerMetrics.Peers.Set(Peers.Count);
        if (added.Count > 0)
        {
            Log.Learnt(_logger, Self, added.Count, Peers.Count);
        }

        return added;
    }

    /// <summary>
    /// A peer that called us or answered an exchange is alive, whatever its last health checks said: its failures
    /// count again from zero. On a loaded node a health check can time out while gossip still gets through, and
    /// dropping a live peer keeps it out of the set for the whole tombstone period.
    /// </summary>
    private void Heard(string? peer)
    {
        if (string.IsNullOrEmpty(peer))
        {
            return;
        }

        lock (_failuresLock)
        {
            _failures.Remove(peer);
        }
    }

    private void Drop(IReadOnlyList<string> removed, string reason)
    {
        lock (_failuresLock)
        {
            foreach (var peer in removed)
            {
                _failures.Remove(peer);
            }
        }

        foreach (var peer in removed)
        {
            _clients.Close(peer);
            LightpeerMetrics.Removed.WithLabels(reason).Inc();
            Log.Dropped(_logger, Self, peer, reason);
        }

        LightpeerMetrics.Peers.Set(Peers.Count);
    }

    /// <summary>The peer's incarnation when it answers a health check as itself (0 from one that predates incarnations); else null.</summary>
    private async Task<ulong?> IncarnationIfHealthyAsync(string peer, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _clients.Get(peer).HealthAsync(new HealthRequest(), deadline: Deadline(), cancellationToken: cancellationToken);
            return response.Self == peer ? response.Incarnation : null;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    /// <summary>Exchanges sets with one peer; true when either side learnt something (the sets differed).</summary>
    private async Task<bool> ExchangeWithAsync(string peer, CancellationToken cancellationToken)
    {
        try
        {
            return await SendExchangeAsync(peer, Request(announce: false), cancellationToken);
        }
        catch (RpcException)
        {
            // Counted; the next round picks another partner.
        }
        catch (ObjectDisposedException)
        {
            // The node is shutting down.
        }

        return false;
    }

    /// <summary>
    /// Tells our peers that <paramref name="joined"/> joined through us. A peer the announcement does not reach (a
    /// timeout on a loaded node) is tried again, backing off, while it is still our peer; one it never reaches hears of
    /// the joiner's raised incarnation by gossip.
    /// </summary>
    private async Task AnnounceAsync(IReadOnlyList<string> targets, IReadOnlyList<PeerEntry> news, string joined)
    {
        var request = new ExchangeRequest
        {
            From = Self,
            Incarnation = Peers.Incarnation,
            Peers = { news.Select(e => e.Address) },
            Members = { news.Select(Wire) },
            Joined = joined,
        };
        await Task.WhenAll(targets.Select(async target =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await SendExchangeAsync(target, request, CancellationToken.None);
                    return;
                }
                catch (RpcException e)
                {
                    Log.AnnounceFailed(_logger, Self, target, attempt, e.Status.Detail);
                    if (attempt >= AnnounceAttempts || !Peers.Contains(target))
                    {
                        return;
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The node is shutting down.
                    return;
                }

                await Task.Delay(TimeSpan.FromSeconds(attempt), _time);
            }
        }));
    }

    /// <summary>
    /// One outgoing exchange, counted either way. On an answer the peer is heard from and the set it sent is learnt;
    /// true when either side learnt something.
    /// </summary>
    private async Task<bool> SendExchangeAsync(string peer, ExchangeRequest request, CancellationToken cancellationToken)
    {
        ExchangeResponse response;
        try
        {
            response = await _clients.Get(peer).ExchangeAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
        }
        catch (RpcException)
        {
            LightpeerMetrics.Exchanges.WithLabels("out", "failed").Inc();
            throw;
        }

        LightpeerMetrics.Exchanges.WithLabels("out", "ok").Inc();
        Heard(peer);
        var answered = string.IsNullOrEmpty(response.Self) ? [] : new[] { new PeerEntry(response.Self, response.Incarnation) };
        return Learn(Entries(response).Concat(answered), null).Count > 0 || response.Learnt > 0;
    }

    /// <summary>An exchange carrying our incarnation and set, both as entries and, for peers that predate incarnations, as addresses.</summary>
    private ExchangeRequest Request(bool announce)
    {
        var ours = Peers.Entries();
        return new ExchangeRequest
        {
            From = Self,
            Incarnation = Peers.Incarnation,
            Announce = announce,
            Peers = { ours.Select(e => e.Address) },
            Members = { ours.Select(Wire) },
        };
    }

    private static PeerIncarnation Wire(PeerEntry entry) => new() { Address = entry.Address, Incarnation = entry.Incarnation };

    /// <summary>The set a request carries: its entries, or from a peer that predates incarnations its addresses at incarnation 0.</summary>
    private static IReadOnlyList<PeerEntry> Entries(ExchangeRequest request) => Entries(request.Members, request.Peers);

    private static IReadOnlyList<PeerEntry> Entries(ExchangeResponse response) => Entries(response.Members, response.Peers);

    private static IReadOnlyList<PeerEntry> Entries(IReadOnlyList<PeerIncarnation> members, IReadOnlyList<string> peers) =>
        members.Count > 0 ? [.. members.Select(m => new PeerEntry(m.Address, m.Incarnation))] : [.. peers.Select(p => new PeerEntry(p, 0))];

    private DateTime Deadline() => DateTime.UtcNow + _options.CallTimeout;
}
