using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Sidecars.Identity.Service;

/// <summary>
/// Per-caller budget of failed SeekBlessings calls (token bucket keyed by peer address): guessing secrets
/// costs a token each, and a caller with no tokens left is refused before any lookup.
/// </summary>
public sealed class SeekFailureLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public SeekFailureLimiter(IOptions<IdentityOptions> options)
    {
        var burst = options.Value.FailureBurst;
        var perSecond = options.Value.FailuresPerSecond;
        _limiter = PartitionedRateLimiter.Create<string, string>(peer => RateLimitPartition.GetTokenBucketLimiter(peer, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public bool IsBlocked(string peer) => _limiter.GetStatistics(peer)?.CurrentAvailablePermits <= 0;

    public void RecordFailure(string peer)
    {
        using var lease = _limiter.AttemptAcquire(peer);
    }

    public void Dispose() => _limiter.Dispose();
}
