using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Admission;

/// <summary>
/// Bounds the reviews the webhook decides at once. Beyond <see cref="WebhookOptions.MaxConcurrentReviews"/> a review
/// waits (oldest first) in a queue of at most <see cref="WebhookOptions.MaxQueuedReviews"/> for at most
/// <see cref="WebhookOptions.QueueTimeout"/>; past either bound it is refused at once with 503 and the reason, so that
/// under overload every review is answered well inside the apiserver's timeout and its failurePolicy decides, instead of
/// reviews piling up until the apiserver gives up on them unanswered. Refusals are counted
/// (<c>sidecars_webhook_admission_requests_total{outcome="rejected",reason="overloaded"}</c>) and logged at most once
/// per second with the number refused since the last line.
/// </summary>
public sealed partial class AdmissionGate : IDisposable
{
    /// <summary>Reason label and body prefix of a review refused because the webhook is overloaded.</summary>
    public const string OverloadedReason = "overloaded";

    private readonly ConcurrencyLimiter _limiter;
    private readonly TimeSpan _queueTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger<AdmissionGate> _logger;
    private readonly Channel<bool> _overloaded = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _refused;
    private long _refusedSinceLog;
    private long _lastLogTimestamp;

    public AdmissionGate(IOptions<WebhookOptions> options, TimeProvider time, ILogger<AdmissionGate> logger)
    {
        var webhook = options.Value;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = webhook.MaxConcurrentReviews,
            QueueLimit = webhook.MaxQueuedReviews,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _queueTimeout = webhook.QueueTimeout;
        _time = time;
        _logger = logger;
        MaxConcurrent = webhook.MaxConcurrentReviews;
        MaxQueued = webhook.MaxQueuedReviews;
    }

    public int MaxConcurrent { get; }

    public int MaxQueued { get; }

    /// <summary>Reviews refused as overloaded since the process started.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Completes when a review has been refused since the last call (the start of an overload).</summary>
    public ValueTask<bool> WaitForRefusalAsync(CancellationToken cancellationToken) => _overloaded.Reader.ReadAsync(cancellationToken);

    /// <summary>Forgets refusals signalled so far (they belong to an overload already seen).</summary>
    public void ClearRefusalSignal() => _overloaded.Reader.TryRead(out _);

    /// <summary>
    /// A permit to decide one review, or null (with the reason) when the webhook is overloaded. Throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> fires (the caller went away).
    /// </summary>
    public async ValueTask<RateLimitLease?> EnterAsync(CancellationToken cancellationToken)
    {
        var lease = _limiter.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        using var waited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waited.CancelAfter(_queueTimeout);
        try
        {
            lease = await _limiter.AcquireAsync(1, waited.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Refuse();
        }

        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        return Refuse();
    }

    /// <summary>The body of a refusal: why, and what to do about it.</summary>
    public string RefusalMessage =>
        $"{OverloadedReason}: the webhook is deciding {MaxConcurrent} reviews with {MaxQueued} waiting, or this one waited {_queueTimeout.TotalMilliseconds:0} ms; retry, or add webhook replicas\n";

    public void Dispose() => _limiter.Dispose();

    private RateLimitLease? Refuse()
    {
        WebhookMetrics.AdmissionRequests.WithLabels("rejected", OverloadedReason).Inc();
        Interlocked.Increment(ref _refused);
        Interlocked.Increment(ref _refusedSinceLog);
        _overloaded.Writer.TryWrite(true);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastLogTimestamp);
        if ((last == 0 || _time.GetElapsedTime(last, now) >= TimeSpan.FromSeconds(1))
            && Interlocked.CompareExchange(ref _lastLogTimestamp, now, last) == last)
        {
            Log.Overloaded(_logger, Interlocked.Exchange(ref _refusedSinceLog, 0), MaxConcurrent, MaxQueued);
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Overloaded: refused {Count} admission reviews with 503 ({MaxConcurrent} in progress, {MaxQueued} waiting)")]
        public static partial void Overloaded(ILogger logger, long count, int maxConcurrent, int maxQueued);
    }
}
