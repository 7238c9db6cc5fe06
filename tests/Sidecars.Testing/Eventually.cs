using System.Diagnostics;

namespace Sidecars.Testing;

/// <summary>A bounded retry on a condition that has no event to watch (a file appearing, a port answering).</summary>
public static class Eventually
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string description, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var elapsed = Stopwatch.StartNew();
        while (!await condition())
        {
            if (elapsed.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0}s waiting for {description}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }

    public static Task UntilAsync(Func<bool> condition, string description, TimeSpan? timeout = null, CancellationToken ct = default) =>
        UntilAsync(() => Task.FromResult(condition()), description, timeout, ct);

    /// <summary>Waits like <c>UntilAsync</c>; the condition also says what it saw, and a timeout reports the last of it.</summary>
    public static async Task HoldsAsync(Func<Task<(bool Ok, string Seen)>> condition, string description, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var seen = string.Empty;
        try
        {
            await UntilAsync(
                async () =>
                {
                    bool ok;
                    (ok, seen) = await condition();
                    return ok;
                },
                description,
                timeout,
                ct);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last seen: {seen}", e);
        }
    }
}
