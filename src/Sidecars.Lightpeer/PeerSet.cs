namespace Sidecars.Lightpeer;

/// <summary>
/// The peers a lightpeer knows, by address (host:port). Addresses that were forgotten or dropped are remembered
/// for a while (tombstones) so that gossip from peers that have not heard yet does not bring them back.
/// </summary>
public sealed class PeerSet
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _peers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tombstone> _tombstones = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _tombstoneTtl;
    private DateTimeOffset? _changed;

    public PeerSet(string self, TimeSpan tombstoneTtl, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(self);
        ArgumentNullException.ThrowIfNull(time);
        Self = self;
        _tombstoneTtl = tombstoneTtl;
        _time = time;
    }

    public string Self { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _peers.Count;
            }
        }
    }

    public IReadOnlyList<string> Snapshot() => View().Peers;

    /// <summary>The peers and when the set last gained or lost one (null while it never has), read together.</summary>
    public PeerView View()
    {
        lock (_lock)
        {
            return new PeerView([.. _peers.Order(StringComparer.Ordinal)], _changed);
        }
    }

    public bool Contains(string address)
    {
        lock (_lock)
        {
            return _peers.Contains(address);
        }
    }

    /// <summary>
    /// Adds the addresses (never self, nor tombstoned ones unless <paramref name="direct"/> names a peer that
    /// contacted us itself, or <paramref name="vouched"/> one that the caller heard from itself just now) and returns
    /// those that were new.
    /// </summary>
    public IReadOnlyList<string> Merge(IEnumerable<string> addresses, string? direct = null, string? vouched = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var added = new List<string>();
        lock (_lock)
        {
            ExpireTombstones();
            foreach (var alive in (ReadOnlySpan<string?>)[direct, vouched])
            {
                if (!string.IsNullOrEmpty(alive))
                {
                    _tombstones.Remove(alive);
                }
            }

            foreach (var address in addresses.Append(direct).Append(vouched))
            {
                if (string.IsNullOrEmpty(address) || address == Self || _tombstones.ContainsKey(address))
                {
                    continue;
                }

                if (_peers.Add(address))
                {
                    added.Add(address);
                    _changed = _time.GetUtcNow();
                }
            }
        }

        return added;
    }

    /// <summary>
    /// Removes the addresses and keeps them out of later merges for the tombstone period. Peers dropped because they
    /// did not answer (<paramref name="unanswered"/>) stay <see cref="Suspects"/>: one that answers again may be taken back.
    /// </summary>
    public IReadOnlyList<string> Remove(IEnumerable<string> addresses, bool unanswered = false)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var removed = new List<string>();
        lock (_lock)
        {
            var until = _time.GetUtcNow() + _tombstoneTtl;
            foreach (var address in addresses)
            {
                // A check that failed after the peer left the set (forgotten meanwhile, its channel closed under the
                // check) changes nothing: a forgotten peer must not become a suspect that is checked and taken back.
                if (string.IsNullOrEmpty(address) || address == Self || (unanswered && !_peers.Contains(address)))
                {
                    continue;
                }

                _tombstones[address] = new Tombstone(until, unanswered);
                if (_peers.Remove(address))
                {
                    removed.Add(address);
                    _changed = _time.GetUtcNow();
                }
            }
        }

        return removed;
    }

    /// <summary>Peers dropped for not answering and still tombstoned, at most <paramref name="max"/>, in turn.</summary>
    public IReadOnlyList<string> Suspects(int max)
    {
        lock (_lock)
        {
            ExpireTombstones();
            return [.. _tombstones.Where(t => t.Value.Unanswered).OrderBy(t => t.Value.Until).Take(max).Select(t => t.Key)];
        }
    }

    private void ExpireTombstones()
    {
        if (_tombstones.Count == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        foreach (var (address, tombstone) in _tombstones.ToArray())
        {
            if (tombstone.Until <= now)
            {
                _tombstones.Remove(address);
            }
        }
    }

    /// <summary>Kept out until <paramref name="Until"/>; <paramref name="Unanswered"/> when dropped for not answering (a suspect).</summary>
    private readonly record struct Tombstone(DateTimeOffset Until, bool Unanswered);
}

/// <summary>A lightpeer's peers, sorted, and when the set last changed (null while it never has).</summary>
public sealed record PeerView(IReadOnlyList<string> Peers, DateTimeOffset? Changed);
