namespace Sidecars.Networks;

/// <summary>
/// Admission to one network's membership changes: up to N joins through existing members at once, and exclusive
/// changes (a purge, or a pod becoming the first member) alone. An exclusive change waits for the joins in flight, and
/// joins that arrive once it is waiting queue behind it, so a burst of joins cannot hold it off.
/// </summary>
internal sealed class JoinGate : IDisposable
{
    private readonly int _joins;
    private readonly SemaphoreSlim _slots;

    /// <summary>Held by the one exclusive change running or waiting; a join passes through it before taking a slot.</summary>
    private readonly SemaphoreSlim _exclusive = new(1, 1);

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
        await _exclusive.WaitAsync(cancellationToken);
        _exclusive.Release();
        await _slots.WaitAsync(cancellationToken);
        return new Admission(this, 1, exclusive: false);
    }

    /// <summary>Waits until no join and no other exclusive change runs; dispose the result to let them in again.</summary>
    public async Task<Admission> ExclusiveAsync(CancellationToken cancellationToken)
    {
        await _exclusive.WaitAsync(cancellationToken);
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
            Leave(slots, exclusive: true);
            throw;
        }

        return new Admission(this, slots, exclusive: true);
    }

    public void Dispose()
    {
        _slots.Dispose();
        _exclusive.Dispose();
    }

    private void Leave(int slots, bool exclusive)
    {
        if (slots > 0)
        {
            _slots.Release(slots);
        }

        if (exclusive)
        {
            _exclusive.Release();
        }
    }

    /// <summary>A join slot or the whole gate, given back on dispose.</summary>
    public sealed class Admission : IDisposable
    {
        private readonly (int Slots, bool Exclusive) _held;
        private JoinGate? _gate;

        internal Admission(JoinGate gate, int slots, bool exclusive) => (_gate, _held) = (gate, (slots, exclusive));

        public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Leave(_held.Slots, _held.Exclusive);
    }
}
