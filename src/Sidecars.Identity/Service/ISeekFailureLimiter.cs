namespace Sidecars.Identity.Service;

/// <summary>
/// Per-caller budget of failed SeekBlessings calls (<see cref="SeekFailureBudget"/>, keyed by peer address): guessing
/// secrets costs from it, and a caller with none left is refused before any lookup.
/// </summary>
public interface ISeekFailureLimiter
{
    ValueTask<bool> IsBlockedAsync(string peer, CancellationToken cancellationToken);

    Task RecordFailureAsync(string peer, CancellationToken cancellationToken);
}
