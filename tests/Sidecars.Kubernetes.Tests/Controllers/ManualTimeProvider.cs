namespace Sidecars.Kubernetes.Tests.Controllers;

/// <summary>A clock that moves only when the test says so; timers fire from <see cref="Advance"/>.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _ticks;
        }
    }

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            var timer = new ManualTimer(this, callback, state, _ticks + dueTime.Ticks, period);
            _timers.Add(timer);
            return timer;
        }
    }

    /// <summary>Moves the clock and runs the callbacks of the timers that came due, in order (a periodic one each time it came due).</summary>
    public void Advance(TimeSpan by)
    {
        long until;
        lock (_lock)
        {
            until = _ticks + by.Ticks;
        }

        while (true)
        {
            ManualTimer? next;
            lock (_lock)
            {
                next = _timers.Where(t => t.Due <= until).OrderBy(t => t.Due).FirstOrDefault();
                if (next is null)
                {
                    _ticks = until;
                    return;
                }

                _ticks = Math.Max(_ticks, next.Due);
                _timers.Remove(next);
                if (next.Period > TimeSpan.Zero && next.Period != Timeout.InfiniteTimeSpan)
                {
                    next.Due += next.Period.Ticks;
                    _timers.Add(next);
                }
            }

            next.Fire();
        }
    }

    /// <summary>Timers created and not yet fired or disposed.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count;
            }
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state, long due, TimeSpan period) : ITimer
    {
        public long Due { get; set; } = due;

        public TimeSpan Period { get; } = period;

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period) => throw new NotSupportedException();

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
