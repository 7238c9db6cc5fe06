namespace Sidecars.Networks;

/// <summary>
/// Admission to one network's membership changes: up to N joins at once, a purge alone. A purge waits for the joins in
/// flight, and joins that arrive once it is waiting queue behind it, so a burst of joins cannot hold a purge off.
/// </summary>
internal sealed class JoinGate : IDisposable
{
    private readonly int _joins;
    private readonly SemaphoreSlim _slots;

    /// <summary>Held by the one purge running or waiting; a join passes through it before taking a slot.</summary>
    private readonly SemaphoreSlim _purge = new(1, 1);

    public JoinGate(int joins)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(joins, 1);
        _joins = joins;
        _slots = new SemaphoreSlim(joins, joins);
    }

    /// <summary>Joins running now.</summary>
    public int Joining => _joins - _slots.CurrentCount;

    /// <summary>Waits for a join slot; dispose the result to leave.</summary>
    public async Task<Admission> JoinAsync(CancellationToken cancellationToken)
    {
        await _purge.WaitAsync(cancellationToken);
        _purge.Release();
        await _slots.WaitAsync(cancellationToken);
        return new Admission(this, 1, purge: false);
    }

    /// <summary>Waits until no join runs and no other purge; dispose the result to let them in again.</summary>
    public async Task<Admission> PurgeAsync(CancellationToken cancellationToken)
    {
        await _purge.WaitAsync(cancellationToken);
        var slots = 0;
        try
        {
            for (; slots < _joins; slots++)
            {
                await _slots.WaitAsync(cancellationToken);
            }
        }
        catch
        {
            Leave(slots, purge: true);
            throw;
        }

        return new Admission(this, slots, purge: true);
    }

    public void Dispose()
    {
        _slots.Dispose();
        _purge.Dispose();
    }

    private void Leave(int slots, bool purge)
    {
        if (slots > 0)
        {
            _slots.Release(slots);
        }

        if (purge)
        {
            _purge.Release();
        }
    }

    /// <summary>A join slot or the whole gate, given back on dispose.</summary>
    public sealed class Admission : IDisposable
    {
        private JoinGate? _gate;
        private readonly int _slots;
        private readonly bool _purge;

        internal Admission(JoinGate gate, int slots, bool purge)
        {
            _gate = gate;
            _slots = slots;
            _purge = purge;
        }

        public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Leave(_slots, _purge);
    }
}
