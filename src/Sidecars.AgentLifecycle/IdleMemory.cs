using Sidecars.Observability;

namespace Sidecars.AgentLifecycle;

/// <summary>
/// Gives back what starting up or a burst of work left resident, once an agent has nothing to do: the heap's free
/// space and malloc's free pages (<see cref="ProcessMemory"/>), and its mappings of code and read-only data it no
/// longer runs (<see cref="FilePages"/>), all in <see cref="ProcessMemory.ReturnAll"/>. An agent runs in every pod, so
/// what it keeps resident counts once per pod.
/// </summary>
public static class IdleMemory
{
    /// <summary>How often the agents look for the end of a burst.</summary>
    public static readonly TimeSpan BurstPeriod = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Releases again each time the agent turns quiet after a burst of work (a load of calls, a run of scrapes): what
    /// the burst grew (heap, malloc arenas, code it ran) would otherwise stay resident until the next burst. Probes and
    /// scrapes at their usual rates are no burst and release nothing. Checks every <paramref name="period"/>, which
    /// costs a counter read.
    /// </summary>
    public static ITimer ReleaseAfterBursts(TimeProvider time, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(time);
        var bursts = new BurstWatch(GC.GetTotalAllocatedBytes());
        return time.CreateTimer(_ =>
        {
            if (bursts.EndedAt(GC.GetTotalAllocatedBytes()))
            {
                ProcessMemory.ReturnAll();
            }
        }, null, period, period);
    }

    /// <summary>
    /// Tells from the bytes allocated so far, read at each period, when a burst has just ended: a period in which the
    /// agent allocated at least <see cref="BurstBytes"/>, followed by a quiet one.
    /// </summary>
    internal sealed class BurstWatch(long allocated)
    {
        /// <summary>A period's allocations that make it busy: a probe allocates a few KiB, a scrape some tens, a load of calls megabytes a second.</summary>
        public const long BurstBytes = 1 << 20;

        private long _allocated = allocated;
        private bool _busy;

        public bool EndedAt(long allocated)
        {
            var busy = allocated - _allocated >= BurstBytes;
            _allocated = allocated;
            var ended = _busy && !busy;
            _busy = busy;
            return ended;
        }
    }

}
