using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Sidecars.Webhook.Admission;

/// <summary>How a lookup through <see cref="BoundedReads{T}"/> was answered.</summary>
public enum BoundedReadResult
{
    /// <summary>This lookup read the object.</summary>
    Read,

    /// <summary>Another lookup of the same name was reading it; this one shared its answer.</summary>
    Shared,

    /// <summary>The name was found missing a moment ago and is still remembered as missing.</summary>
    RememberedMissing,

    /// <summary>The read budget was spent; the lookup answered "unknown" without reading.</summary>
    Throttled,
}

/// <summary>Limits of <see cref="BoundedReads{T}"/>; the defaults are the production ones.</summary>
public sealed record BoundedReadLimits
{
    /// <summary>Reads allowed at once before the budget refills.</summary>
    public int Burst { get; init; } = 10;

    /// <summary>Reads the budget regains per <see cref="RefillPeriod"/>.</summary>
    public int RefillPerPeriod { get; init; } = 1;

    public TimeSpan RefillPeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a name found missing is answered as missing without reading again.</summary>
    public TimeSpan RememberMissingFor { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>At most this many missing names are remembered (a flood of made-up names cannot grow memory).</summary>
    public int MaxRemembered { get; init; } = 10_000;

    /// <summary>A read that takes longer than this is abandoned (its waiters get "unknown").</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Direct reads of objects an informer has not seen, bounded so that lookups of names that do not exist cannot turn
/// into a stream of API calls: one read in flight per name (lookups meanwhile share its answer), a name found missing
/// is remembered as missing for a while, and reads across all names spend a token bucket; a lookup that finds it empty
/// answers "unknown" (null) without reading.
/// </summary>
public sealed class BoundedReads<T> : IDisposable where T : class
{
    private readonly Func<string, CancellationToken, Task<T?>> _read;
    private readonly BoundedReadLimits _limits;
    private readonly TimeProvider _time;
    private readonly TokenBucketRateLimiter _budget;
    private readonly ConcurrentDictionary<string, Task<T?>> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _missingUntil = new(StringComparer.Ordinal);

    /// <param name="read">Reads one object by name; answers null when it does not exist.</param>
    public BoundedReads(Func<string, CancellationToken, Task<T?>> read, BoundedReadLimits? limits = null, TimeProvider? time = null)
    {
        _read = read;
        _limits = limits ?? new BoundedReadLimits();
        _time = time ?? TimeProvider.System;
        _budget = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = _limits.Burst,
            TokensPerPeriod = _limits.RefillPerPeriod,
            ReplenishmentPeriod = _limits.RefillPeriod,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    /// <summary>The object named <paramref name="name"/>, or null when it does not exist or was not read.</summary>
    public async ValueTask<(T? Value, BoundedReadResult Result)> GetAsync(string name, CancellationToken cancellationToken)
    {
        if (_missingUntil.TryGetValue(name, out var until))
        {
            if (_time.GetTimestamp() < until)
            {
                return (null, BoundedReadResult.RememberedMissing);
            }

            _missingUntil.TryRemove(new KeyValuePair<string, long>(name, until));
        }

        if (_inFlight.TryGetValue(name, out var running))
        {
            return (await running.WaitAsync(cancellationToken), BoundedReadResult.Shared);
        }

        using var lease = _budget.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            return (null, BoundedReadResult.Throttled);
        }

        var mine = new TaskCompletionSource<T?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var shared = _inFlight.GetOrAdd(name, mine.Task);
        if (shared != mine.Task)
        {
            return (await shared.WaitAsync(cancellationToken), BoundedReadResult.Shared);
        }

        try
        {
            // The read serves every lookup of the name meanwhile, so no single caller's cancellation ends it.
            using var timeout = new CancellationTokenSource(_limits.ReadTimeout, _time);
            var value = await _read(name, timeout.Token);
            if (value is null)
            {
                Remember(name);
            }

            mine.SetResult(value);
        }
        catch (Exception e)
        {
            mine.SetException(e);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Task<T?>>(name, mine.Task));
        }

        return (await mine.Task.WaitAsync(cancellationToken), BoundedReadResult.Read);
    }

    public void Dispose() => _budget.Dispose();

    private void Remember(string name)
    {
        var now = _time.GetTimestamp();
        if (_missingUntil.Count >= _limits.MaxRemembered)
        {
            foreach (var (key, until) in _missingUntil)
            {
                if (until <= now)
                {
                    _missingUntil.TryRemove(new KeyValuePair<string, long>(key, until));
                }
            }

            if (_missingUntil.Count >= _limits.MaxRemembered)
            {
                return;
            }
        }

        var ticks = (long)(_limits.RememberMissingFor.TotalSeconds * _time.TimestampFrequency);
        _missingUntil[name] = now + ticks;
    }
}
