namespace Sidecars.Kubernetes.Controllers;

/// <summary>Delay before retry number <c>failures</c>: <c>initial · 2^(failures-1)</c>, capped. Pure.</summary>
public sealed record ExponentialBackoff(TimeSpan Initial, TimeSpan Cap)
{
    /// <summary>5 ms doubling up to 5 minutes, as Kubernetes' own controllers space retries of one key.</summary>
    public static readonly ExponentialBackoff Default = new(TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(5));

    /// <summary>The delay after <paramref name="failures"/> consecutive failures (zero for none).</summary>
    public TimeSpan Delay(int failures)
    {
        if (failures <= 0)
        {
            return TimeSpan.Zero;
        }

        // Past 2^40 every sensible cap has been reached; stop doubling before the ticks overflow.
        var ticks = Initial.Ticks * Math.Pow(2, Math.Min(failures - 1, 40));
        return ticks >= Cap.Ticks ? Cap : TimeSpan.FromTicks((long)ticks);
    }
}
