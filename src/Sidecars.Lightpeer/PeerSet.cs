namespace Sidecars.Lightpeer;

/// <summary>
/// The peers a lightpeer knows, by address (host:port), each at the incarnation it was last heard at. Addresses that
/// were forgotten or dropped are remembered for a while (tombstones) so that gossip from peers that have not heard
/// yet does not bring them back. A tombstone holds the incarnation it was made at and keeps out that incarnation and
/// older ones only: a lightpeer that restarted (a fresh process starts at a higher incarnation) or was told to join
/// again (it raises its own) is taken back from the first gossip that carries it, whoever it comes from. Incarnation 0
/// stands for "not known" (peers that predate incarnations): any tombstone keeps it out, as before incarnations.
/// </summary>
public sealed class PeerSet
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ulong> _peers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tombstone> _tombstones = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _tombstoneTtl;
    private ulong _incarnation;
    private DateTimeOffset? _changed;

    public PeerSet(string self, ulong incarnation, TimeSpan tombstoneTtl, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(self);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfZero(incarnation);
        Self = self;
        _incarnation = incarnation;
        _tombstoneTtl = tombstoneTtl;
        _time = time;
    }

    public string Self { get; }

    /// <summary>This lightpeer's own incarnation.</summary>
    public ulong Incarnation
    {
        get
        {
            lock (_lock)
            {
                return _incarnation;
            }
        }
    }

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

    /// <summary>
    /// The incarnation a lightpeer starts at: its start time in milliseconds, shifted to leave room for the raises of
    /// <see cref="Rejoin"/>, so a restarted process at the same address starts above every incarnation of the previous
    /// one (short of a clock that went back; <see cref="Merge"/> raises ours above anything others say of us anyway).
    /// </summary>
    public static ulong FirstIncarnation(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return Math.Max(1UL, (ulong)time.GetUtcNow().ToUnixTimeMilliseconds() << 16);
    }

    public IReadOnlyList<string> Snapshot() => View().Peers;

    /// <summary>The peers and when the set last gained or lost one (null while it never has), read together.</summary>
    public PeerView View()
    {
        lock (_lock)
        {
            return new PeerView([.. _peers.Keys.Order(StringComparer.Ordinal)], _changed);
        }
    }

    /// <summary>The peers with their incarnations, sorted by address.</summary>
    public IReadOnlyList<PeerEntry> Entries()
    {
        lock (_lock)
        {
            return [.. _peers.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new PeerEntry(p.Key, p.Value))];
        }
    }

    public bool Contains(string address)
    {
        lock (_lock)
        {
            return _peers.ContainsKey(address);
        }
    }

    /// <summary>The incarnation the peer is known at; null when it is not in the set.</summary>
    public ulong? IncarnationOf(string address)
    {
        lock (_lock)
        {
            return _peers.TryGetValue(address, out var incarnation) ? incarnation : null;
        }
    }

    /// <summary>
    /// Raises our own incarnation, as a lightpeer told to join again does: members that forgot us at the old one take
    /// us back as soon as gossip carries the new one. Returns the new incarnation.
    /// </summary>
    public ulong Rejoin()
    {
        lock (_lock)
        {
            return ++_incarnation;
        }
    }

    /// <summary>Merges addresses heard from a peer that predates incarnations (all at incarnation 0).</summary>
    public IReadOnlyList<string> Merge(IEnumerable<string> addresses, string? direct = null, string? vouched = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        return Merge(
            addresses.Select(a => new PeerEntry(a, 0)),
            string.IsNullOrEmpty(direct) ? null : new PeerEntry(direct, 0),
            string.IsNullOrEmpty(vouched) ? null : new PeerEntry(vouched, 0));
    }

    /// <summary>
    /// Adds the entries (never self) and raises the incarnations of known peers to those heard, and returns the
    /// addresses that were new or heard at a higher incarnation: news to pass on. A tombstoned address is kept out at
    /// the tombstone's incarnation and below, unless <paramref name="direct"/> names a peer that contacted us itself or
    /// <paramref name="vouched"/> one that the caller heard from itself just now. When someone says we are above our own
    /// incarnation (a clock that went back across a restart), ours is raised above it and self is returned
    /// among the news, so that gossip carries the raised one.
    /// </summary>
    public IReadOnlyList<string> Merge(IEnumerable<PeerEntry> entries, PeerEntry? direct = null, PeerEntry? vouched = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var changed = new List<string>();
        lock (_lock)
        {
            ExpireTombstones();
            foreach (var alive in (ReadOnlySpan<PeerEntry?>)[direct, vouched])
            {
                if (alive is { } entry && !string.IsNullOrEmpty(entry.Address))
                {
                    _tombstones.Remove(entry.Address);
                }
            }

            var all = entries;
            if (direct is { } d)
            {
                all = all.Append(d);
            }

            if (vouched is { } v)
            {
                all = all.Append(v);
            }

            foreach (var (address, incarnation) in all)
            {
                if (string.IsNullOrEmpty(address))
                {
                    continue;
                }

                if (address == Self)
                {
                    if (incarnation > _incarnation && !changed.Contains(Self))
                    {
                        _incarnation = incarnation + 1;
                        changed.Add(Self);
                    }

                    continue;
                }

                if (_tombstones.TryGetValue(address, out var tombstone))
                {
                    if (incarnation <= tombstone.Incarnation)
                    {
                        continue;
                    }

                    _tombstones.Remove(address);
                }

                if (_peers.TryGetValue(address, out var known))
                {
                    if (incarnation > known)
                    {
                        _peers[address] = incarnation;
                        changed.Add(address);
                    }
                }
                else
                {
                    _peers.Add(address, incarnation);
                    changed.Add(address);
                    _changed = _time.GetUtcNow();
                }
            }
        }

        return changed;
    }

    /// <summary>
    /// Removes the addresses and keeps them out of later merges for the tombstone period, at the incarnation they were
    /// known at (0 for an address not known: that keeps out only peers that predate incarnations). Peers dropped
    /// because they did not answer (<paramref name="unanswered"/>) stay <see cref="Suspects"/>: one that answers again
    /// may be taken back.
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
                if (string.IsNullOrEmpty(address) || address == Self || (unanswered && !_peers.ContainsKey(address)))
                {
                    continue;
                }

                var incarnation = _peers.TryGetValue(address, out var known) ? known
                    : _tombstones.TryGetValue(address, out var earlier) ? earlier.Incarnation
                    : 0;
                _tombstones[address] = new Tombstone(until, unanswered, incarnation);
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

    /// <summary>
    /// Kept out until <paramref name="Until"/> at <paramref name="Incarnation"/> and below; <paramref name="Unanswered"/>
    /// when dropped for not answering (a suspect).
    /// </summary>
    private readonly record struct Tombstone(DateTimeOffset Until, bool Unanswered, ulong Incarnation);
}

/// <summary>A peer's address and the incarnation it was heard at (0: not known).</summary>
public readonly record struct PeerEntry(string Address, ulong Incarnation);

/// <summary>A lightpeer's peers, sorted, and when the set last changed (null while it never has).</summary>
public sealed record PeerView(IReadOnlyList<string> Peers, DateTimeOffset? Changed);
