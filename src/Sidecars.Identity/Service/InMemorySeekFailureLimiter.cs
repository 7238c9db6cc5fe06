using Microsoft.Extensions.Options;

namespace Sidecars.Identity.Service;

/// <summary>The failure budget in this process's memory: for the file store, where one process is the only replica.</summary>
public sealed class InMemorySeekFailureLimiter(IOptions<IdentityOptions> options, TimeProvider time) : ISeekFailureLimiter
{
    private readonly SeekFailureBudget _budget = new(options.Value.FailureBurst, options.Value.FailuresPerSecond);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DateTimeOffset> _tats = new(StringComparer.Ordinal);

    public ValueTask<bool> IsBlockedAsync(string peer, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_budget.IsBlocked(_tats.TryGetValue(peer, out var tat) ? tat : null, time.GetUtcNow()));
        }
    }

    public Task RecordFailureAsync(string peer, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            _tats[peer] = _budget.Spend(_tats.TryGetValue(peer, out var tat) ? tat : null, now);
            foreach (var spent in _tats.Where(t => !SeekFailureBudget.IsSpent(t.Value, now)).Select(t => t.Key).ToList())
            {
                _tats.Remove(spent);
            }
        }

        return Task.CompletedTask;
    }
}
