using Grpc.Core;
using Microsoft.Extensions.Logging;
using Sidecars.Contracts.V1;

namespace Sidecars.Lightpeer;

/// <summary>The behaviour of one lightpeer: joining, exchanging and announcing peer sets, checking and dropping peers.</summary>
public sealed partial class LightpeerNode : IDisposable
{
    private readonly LightpeerOptions _options;
    private readonly PeerClients _clients;
    private readonly ILogger<LightpeerNode> _logger;
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly Lock _failuresLock = new();

    public LightpeerNode(LightpeerOptions options, TimeProvider time, ILogger<LightpeerNode> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        Peers = new PeerSet(options.SelfAddress, options.ForgetFor, time);
        _clients = new PeerClients(options.CallTimeout);
        LightpeerMetrics.Peers.Set(0);
    }

    public PeerSet Peers { get; }

    public string Self => Peers.Self;

    /// <summary>Joins through the peer at <paramref name="address"/>: both sides merge; the other side announces.</summary>
    public async Task<JoinResponse> JoinAsync(string address, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "join needs the address (host:port) of a peer"));
        }

        if (address == Self)
        {
            return new JoinResponse { Joined = true, Peers = { Peers.Snapshot() } };
        }

        try
        {
            var request = new ExchangeRequest { From = Self, Announce = true, Peers = { Peers.Snapshot() } };
            var response = await _clients.Get(address).ExchangeAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
            Learn(response.Peers, response.Self);
            LightpeerMetrics.Exchanges.WithLabels("out", "ok").Inc();
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
        var added = Learn(request.Peers, request.From);
        LightpeerMetrics.Exchanges.WithLabels("in", "ok").Inc();
        if (request.Announce && added.Count > 0)
        {
            var news = Peers.Snapshot();
            var targets = before.Where(p => p != request.From).ToArray();
            _ = Task.Run(() => AnnounceAsync(targets, news));
        }

        return new ExchangeResponse { Self = Self, Peers = { Peers.Snapshot() } };
    }

    public int Forget(IEnumerable<string> addresses)
    {
        var removed = Peers.Remove(addresses);
        Drop(removed, "forgotten");
        return removed.Count;
    }

    /// <summary>One round of maintenance: health-check every peer, drop those over the failure threshold, and exchange with one random peer.</summary>
    public async Task CheckPeersAsync(CancellationToken cancellationToken)
    {
        var peers = Peers.Snapshot();
        var results = await Task.WhenAll(peers.Select(async p => (Peer: p, Ok: await IsHealthyAsync(p, cancellationToken))));
        var dead = new List<string>();
        lock (_failuresLock)
        {
            foreach (var (peer, ok) in results)
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

        Drop(Peers.Remove(dead), "unreachable");
        var alive = results.Where(r => r.Ok).Select(r => r.Peer).ToArray();
        if (alive.Length > 0)
        {
            await ExchangeWithAsync(alive[Random.Shared.Next(alive.Length)], cancellationToken);
        }
    }

    public void Dispose() => _clients.Dispose();

    private IReadOnlyList<string> Learn(IEnumerable<string> peers, string? direct)
    {
        var added = Peers.Merge(peers, direct);
        LightpeerMetrics.Peers.Set(Peers.Count);
        if (added.Count > 0)
        {
            Log.Learnt(_logger, Self, added.Count, Peers.Count);
        }

        return added;
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

    private async Task<bool> IsHealthyAsync(string peer, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _clients.Get(peer).HealthAsync(new HealthRequest(), deadline: Deadline(), cancellationToken: cancellationToken);
            return response.Self == peer;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    private async Task ExchangeWithAsync(string peer, CancellationToken cancellationToken)
    {
        try
        {
            var request = new ExchangeRequest { From = Self, Peers = { Peers.Snapshot() } };
            var response = await _clients.Get(peer).ExchangeAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
            Learn(response.Peers, null);
            LightpeerMetrics.Exchanges.WithLabels("out", "ok").Inc();
        }
        catch (RpcException)
        {
            LightpeerMetrics.Exchanges.WithLabels("out", "failed").Inc();
        }
    }

    private async Task AnnounceAsync(IReadOnlyList<string> targets, IReadOnlyList<string> news)
    {
        var request = new ExchangeRequest { From = Self, Peers = { news } };
        await Task.WhenAll(targets.Select(async target =>
        {
            try
            {
                var response = await _clients.Get(target).ExchangeAsync(request, deadline: Deadline());
                Learn(response.Peers, null);
            }
            catch (RpcException e)
            {
                Log.AnnounceFailed(_logger, Self, target, e.Status.Detail);
            }
        }));
    }

    private DateTime Deadline() => DateTime.UtcNow + _options.CallTimeout;
}
