namespace Sidecars.Identity.Service;

/// <summary>
/// The failure budget of one SeekBlessings caller as a single time (a generic cell rate algorithm): each failure
/// pushes the caller's <c>tat</c> one interval (1 s / <see cref="IdentityOptions.FailuresPerSecond"/>) past
/// max(tat, now); the caller is refused while its tat lies more than <see cref="IdentityOptions.FailureBurst"/> - 1
/// intervals ahead. That is a token bucket of FailureBurst tokens refilled at FailuresPerSecond, kept in one number
/// that replicas can share. Pure.
/// </summary>
public sealed record SeekFailureBudget(int Burst, int PerSecond)
{
    public TimeSpan Interval => TimeSpan.FromTicks(TimeSpan.TicksPerSecond / PerSecond);

    /// <summary>Whether a caller whose tat is <paramref name="tat"/> (null: none recorded) is refused at <paramref name="now"/>.</summary>
    public bool IsBlocked(DateTimeOffset? tat, DateTimeOffset now) => tat is { } t && t - now > (Burst - 1) * Interval;

    /// <summary>Until when the caller is refused; null when it is not.</summary>
    public DateTimeOffset? BlockedUntil(DateTimeOffset? tat, DateTimeOffset now) =>
        IsBlocked(tat, now) ? tat!.Value - ((Burst - 1) * Interval) : null;

    /// <summary>The tat after one more failure; a refused caller's does not grow (its calls are not looked at).</summary>
    public DateTimeOffset Spend(DateTimeOffset? tat, DateTimeOffset now) =>
        IsBlocked(tat, now) ? tat!.Value : (tat is { } t && t > now ? t : now) + Interval;

    /// <summary>A tat in the past is a full budget: nothing to keep.</summary>
    public static bool IsSpent(DateTimeOffset tat, DateTimeOffset now) => tat > now;
}
