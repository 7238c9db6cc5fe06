using System.Diagnostics;

namespace Sidecars.Kubernetes.Controllers;

/// <summary>
/// A deduplicating, rate-limited queue of keys to reconcile, with the semantics of Kubernetes' controller work queue:
/// a key waiting is not queued twice; a key being processed that is added again is processed once more after
/// <see cref="Done"/>, never by two workers at once; <see cref="AddRateLimited"/> puts a key back after a per-key
/// exponential backoff that <see cref="Forget"/> resets; <see cref="ShutDown"/> lets the workers drain and stop.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Queue<TKey> _queue = new();
    private readonly Dictionary<TKey, long> _dirty;
    private readonly HashSet<TKey> _processing;
    private readonly Dictionary<TKey, int> _failures;
    private readonly Dictionary<TKey, Delayed> _delayed;
    private readonly TimeProvider _time;
    private readonly ExponentialBackoff _backoff;
    private readonly KeyValuePair<string, object?> _tag;
    private TaskCompletionSource _available = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _shuttingDown;

    /// <param name="name">Low-cardinality name for the metrics (<c>networks</c>, <c>clusters</c>).</param>
    public WorkQueue(string name, TimeProvider? time = null, ExponentialBackoff? backoff = null, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        _time = time ?? TimeProvider.System;
        _backoff = backoff ?? ExponentialBackoff.Default;
        _dirty = new(comparer);
        _processing = new(comparer);
        _failures = new(comparer);
        _delayed = new(comparer);
        _tag = new("queue", name);
    }

    public string Name { get; }

    /// <summary>Keys waiting to be handed to a worker.</summary>
    public int Depth
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public bool IsShuttingDown
    {
        get
        {
            lock (_lock)
            {
                return _shuttingDown;
            }
        }
    }

    internal void ObserveWork(TimeSpan elapsed) => WorkQueueMetrics.WorkSeconds.Record(elapsed.TotalSeconds, _tag);

    /// <summary>Queues the key unless it is already waiting; a key being processed is queued again once it is done.</summary>
    public void Add(TKey key)
    {
        TaskCompletionSource? wake = null;
        lock (_lock)
        {
            if (_shuttingDown || _dirty.ContainsKey(key))
            {
                return;
            }

            WorkQueueMetrics.Adds.Add(1, _tag);
            _dirty.Add(key, Stopwatch.GetTimestamp());
            if (!_processing.Contains(key))
            {
                wake = Enqueue(key);
            }
        }

        wake?.TrySetResult();
    }

    /// <summary>Adds the key once <paramref name="delay"/> has passed; of several delayed adds of one key the earliest wins.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }

            var due = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
            if (_delayed.TryGetValue(key, out var pending))
            {
                if (pending.Due <= due)
                {
                    return;
                }

                pending.Timer.Dispose();
            }

            var delayed = new Delayed(due);
            delayed.Timer = _time.CreateTimer(_ => Fire(key, delayed), null, delay, Timeout.InfiniteTimeSpan);
            _delayed[key] = delayed;
        }
    }

    /// <summary>Puts the key back after its backoff, which doubles with each failure until <see cref="Forget"/>.</summary>
    public void AddRateLimited(TKey key)
    {
        int failures;
        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }

            failures = _failures[key] = _failures.GetValueOrDefault(key) + 1;
        }

        WorkQueueMetrics.Retries.Add(1, _tag);
        AddAfter(key, _backoff.Delay(failures));
    }

    /// <summary>Clears the key's failures: its next <see cref="AddRateLimited"/> waits the shortest backoff again.</summary>
    public void Forget(TKey key)
    {
        lock (_lock)
        {
            _failures.Remove(key);
        }
    }

    /// <summary>Failures recorded for the key since it was last forgotten.</summary>
    public int Requeues(TKey key)
    {
        lock (_lock)
        {
            return _failures.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Waits for the next key and marks it as being processed; the caller must call <see cref="Done"/> with it.
    /// Returns false once the queue is shut down and empty.
    /// </summary>
    public async Task<(bool Ok, TKey Key)> GetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_queue.TryDequeue(out var key))
                {
                    WorkQueueMetrics.Depth.Add(-1, _tag);
                    _dirty.Remove(key, out var since);
                    _processing.Add(key);
                    WorkQueueMetrics.QueueSeconds.Record(Stopwatch.GetElapsedTime(since).TotalSeconds, _tag);
                    return (true, key);
                }

                if (_shuttingDown)
                {
                    return (false, default!);
                }

                wait = _available.Task;
            }

            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Ends the processing of a key; if it was added meanwhile it is queued again now.</summary>
    public void Done(TKey key)
    {
        TaskCompletionSource? wake = null;
        lock (_lock)
        {
            _processing.Remove(key);
            if (_dirty.ContainsKey(key))
            {
                wake = Enqueue(key);
            }
        }

        wake?.TrySetResult();
    }

    /// <summary>Stops taking keys: waiting workers see the queue end once what is queued has been handed out.</summary>
    public void ShutDown()
    {
        TaskCompletionSource wake;
        lock (_lock)
        {
            _shuttingDown = true;
            foreach (var delayed in _delayed.Values)
            {
                delayed.Timer.Dispose();
            }

            _delayed.Clear();
            wake = _available;
        }

        wake.TrySetResult();
    }

    public void Dispose() => ShutDown();

    private TaskCompletionSource? Enqueue(TKey key)
    {
        _queue.Enqueue(key);
        WorkQueueMetrics.Depth.Add(1, _tag);
        var wake = _available;
        _available = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return wake;
    }

    private void Fire(TKey key, Delayed delayed)
    {
        lock (_lock)
        {
            if (!_delayed.TryGetValue(key, out var current) || !ReferenceEquals(current, delayed))
            {
                return;
            }

            _delayed.Remove(key);
            delayed.Timer.Dispose();
        }

        Add(key);
    }

    private sealed class Delayed(long due)
    {
        public long Due { get; } = due;

        public System.Threading.ITimer Timer { get; set; } = null!;
    }
}
