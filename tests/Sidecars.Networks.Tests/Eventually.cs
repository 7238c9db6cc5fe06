using System.Diagnostics;

namespace Sidecars.Networks.Tests;

/// <summary>Bounded retry on a condition, failing with what was awaited and what was last seen.</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<Task<(bool Ok, string Seen)>> condition, string description, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var watch = Stopwatch.StartNew();
        var seen = string.Empty;
        while (watch.Elapsed < limit)
        {
            bool ok;
            (ok, seen) = await condition();
            if (ok)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{description}: not true after {limit.TotalSeconds}s; last seen: {seen}");
    }
}
