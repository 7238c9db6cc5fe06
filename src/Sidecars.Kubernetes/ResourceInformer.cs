using System.Collections.Concurrent;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Sidecars.Kubernetes;

/// <summary>
/// A list+watch cache of one kind of object: lists once, then watches from the list's resourceVersion, resumes
/// after a watch ends and relists on 410 Gone (emitting the difference as events). A watch that sends nothing, not
/// even a bookmark, for longer than the server was asked to keep it open is given up and resumed: an overloaded
/// apiserver can leave a stream open that never delivers again. Subscribers get every change, in order, on the
/// informer's loop; handlers must be quick and must not block.
/// </summary>
public sealed partial class ResourceInformer<T> : IResourceInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Silence after which a watch is taken for stalled: the server's watch timeout and a minute.</summary>
    public static readonly TimeSpan DefaultStallLimit = TimeSpan.FromSeconds(KubernetesResourceSources.WatchTimeoutSeconds + 60);

    private readonly IResourceSource<T> _source;
    private readonly ILogger _logger;
    private readonly TimeSpan _stallLimit;
    private readonly ConcurrentDictionary<string, T> _cache = new(StringComparer.Ordinal);
    private readonly Lock _subscribersLock = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private ImmutableSubscribers _subscribers = ImmutableSubscribers.Empty;
    private Task? _loop;
    private long _lists;
    private long _watches;
    private long _events;
    private long _gone;
    private long _errors;
    private long _stalls;

    /// <param name="stallLimit">How long a watch may send nothing before it is resumed; <see cref="DefaultStallLimit"/> when null.</param>
    public ResourceInformer(IResourceSource<T> source, ILogger logger, TimeSpan? stallLimit = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(logger);
        _source = source;
        _logger = logger;
        _stallLimit = stallLimit ?? DefaultStallLimit;
    }

    public string Description => _source.Description;

    public bool HasSynced => _synced.Task.IsCompletedSuccessfully;

    /// <summary>Counters of the traffic this informer caused: lists, watch requests, events received, 410 restarts, stalls.</summary>
    public InformerStatistics Statistics => new(
        Interlocked.Read(ref _lists), Interlocked.Read(ref _watches), Interlocked.Read(ref _events),
        Interlocked.Read(ref _gone), Interlocked.Read(ref _errors), _subscribers.Handlers.Length, Interlocked.Read(ref _stalls));

    /// <summary>Starts the list+watch loop once; later calls do nothing.</summary>
    public void Start()
    {
        lock (_subscribersLock)
        {
            _loop ??= Task.Run(() => RunAsync(_stop.Token));
        }
    }

    /// <summary>Starts the informer if needed and waits until the first list is in the cache.</summary>
    public Task WaitForSyncAsync(CancellationToken cancellationToken)
    {
        Start();
        return _synced.Task.WaitAsync(cancellationToken);
    }

    public IReadOnlyList<T> Snapshot() => [.. _cache.Values];

    public bool TryGet(string? @namespace, string name, out T? value) => _cache.TryGetValue(Key(@namespace, name), out value);

    /// <summary>
    /// Adds a handler for changes. With <paramref name="replay"/>, cached objects are first delivered as Added
    /// (under the same ordering as live events). Dispose the result to unsubscribe.
    /// </summary>
    public IDisposable Subscribe(Action<ResourceEvent<T>> handler, bool replay = false)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_subscribersLock)
        {
            if (replay)
            {
                foreach (var item in _cache.Values)
                {
                    Invoke(handler, new ResourceEvent<T>(ResourceEventType.Added, item, null));
                }
            }

            _subscribers = _subscribers.Add(handler);
        }

        return new Subscription(this, handler);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
    }

    private static string Key(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : ns + "/" + name;

    private static string Key(T item) => Key(item.Metadata.NamespaceProperty, item.Metadata.Name);

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(250);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var resourceVersion = await RelistAsync(ct);
                backoff = TimeSpan.FromMilliseconds(250);
                await WatchUntilGoneAsync(resourceVersion, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (HttpOperationException e) when ((int)e.Response.StatusCode == 410)
            {
                Interlocked.Increment(ref _gone);
                Log.Expired(_logger, _source.Description);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _errors);
                Log.Failed(_logger, _source.Description, backoff.TotalSeconds, e);
                try
                {
                    await Task.Delay(backoff, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }

        _synced.TrySetCanceled(ct);
    }

    private async Task<string> RelistAsync(CancellationToken ct)
    {
        var list = await _source.ListAsync(ct);
        Interlocked.Increment(ref _lists);
        lock (_subscribersLock)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in list.Items)
            {
                var key = Key(item);
                seen.Add(key);
                Apply(key, item, _cache.TryGetValue(key, out var old) ? ResourceEventType.Modified : ResourceEventType.Added, old);
            }

            foreach (var (key, old) in _cache.ToArray())
            {
                if (!seen.Contains(key))
                {
                    Apply(key, old, ResourceEventType.Deleted, old);
                }
            }
        }

        Log.Listed(_logger, _source.Description, list.Items.Count, list.ResourceVersion);
        _synced.TrySetResult();
        return list.ResourceVersion;
    }

    /// <summary>
    /// Watches, resuming from the last seen resourceVersion whenever the server ends the stream or it stalls, until 410.
    /// </summary>
    private async Task WatchUntilGoneAsync(string resourceVersion, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Exception? streamError = null;
            Interlocked.Increment(ref _watches);
            using var alive = CancellationTokenSource.CreateLinkedTokenSource(ct);
            alive.CancelAfter(_stallLimit);
            try
            {
                await foreach (var (type, item) in _source.WatchAsync(resourceVersion, e => streamError ??= e, alive.Token))
                {
                    alive.CancelAfter(_stallLimit);
                    resourceVersion = Deliver(type, item) ?? resourceVersion;
                }
            }
            catch (OperationCanceledException) when (alive.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // Stalled: handled below, as when the stream reports the cancellation instead of throwing it.
            }

            if (alive.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                Interlocked.Increment(ref _stalls);
                Log.Stalled(_logger, _source.Description, _stallLimit.TotalSeconds);
                continue;
            }

            if (streamError is KubernetesException { Status.Code: 410 })
            {
                Interlocked.Increment(ref _gone);
                Log.Expired(_logger, _source.Description);
                return;
            }

            if (streamError is not null)
            {
                throw new InvalidOperationException($"watch of {_source.Description} failed: {streamError.Message}", streamError);
            }
        }
    }

    /// <summary>Applies one watch event to the cache and the subscribers; returns its resourceVersion, if any.</summary>
    private string? Deliver(WatchEventType type, T item)
    {
        Interlocked.Increment(ref _events);
        var rv = item.Metadata?.ResourceVersion is { Length: > 0 } version ? version : null;
        if (type is WatchEventType.Bookmark or WatchEventType.Error)
        {
            return rv;
        }

        lock (_subscribersLock)
        {
            var key = Key(item);
            _cache.TryGetValue(key, out var old);
            Apply(key, item, type switch
            {
                WatchEventType.Added => old is null ? ResourceEventType.Added : ResourceEventType.Modified,
                WatchEventType.Deleted => ResourceEventType.Deleted,
                _ => old is null ? ResourceEventType.Added : ResourceEventType.Modified,
            }, old);
        }

        return rv;
    }

    private void Apply(string key, T item, ResourceEventType type, T? old)
    {
        if (type == ResourceEventType.Deleted)
        {
            _cache.TryRemove(key, out _);
        }
        else
        {
            _cache[key] = item;
        }

        var evt = new ResourceEvent<T>(type, item, old);
        foreach (var handler in _subscribers.Handlers)
        {
            Invoke(handler, evt);
        }
    }

    private void Invoke(Action<ResourceEvent<T>> handler, ResourceEvent<T> evt)
    {
        try
        {
            handler(evt);
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, _source.Description, e);
        }
    }

    private void Unsubscribe(Action<ResourceEvent<T>> handler)
    {
        lock (_subscribersLock)
        {
            _subscribers = _subscribers.Remove(handler);
        }
    }

    private sealed class ImmutableSubscribers(Action<ResourceEvent<T>>[] handlers)
    {
        public static readonly ImmutableSubscribers Empty = new([]);

        public Action<ResourceEvent<T>>[] Handlers => handlers;

        public ImmutableSubscribers Add(Action<ResourceEvent<T>> handler) => new([.. handlers, handler]);

        public ImmutableSubscribers Remove(Action<ResourceEvent<T>> handler)
        {
            var index = Array.IndexOf(handlers, handler);
            return index < 0 ? this : new([.. handlers[..index], .. handlers[(index + 1)..]]);
        }
    }

    private sealed class Subscription(ResourceInformer<T> owner, Action<ResourceEvent<T>> handler) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(handler);
            }
        }
    }
}

/// <summary>What every informer reports, whatever its kind.</summary>
public interface IResourceInformer : IAsyncDisposable
{
    string Description { get; }

    InformerStatistics Statistics { get; }
}

public sealed record InformerStatistics(long Lists, long Watches, long Events, long Expirations, long Errors, int Subscribers, long Stalls);
