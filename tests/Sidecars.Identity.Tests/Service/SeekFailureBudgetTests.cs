using Xunit;
using Sidecars.Identity.Service;

namespace Sidecars.Identity.Tests.Service;

/// <summary>The shared failure budget as one time per caller: a token bucket of Burst tokens refilled at PerSecond.</summary>
public sealed class SeekFailureBudgetTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Failures at the given offsets (ms after Now), then the check at the last offset + <paramref name="checkAfterMs"/>.</summary>
    [Theory]
    // Burst 3, 1/s: three quick failures spend it; the fourth call is refused.
    [InlineData(3, 1, "0 0 0", 0, true)]
    [InlineData(3, 1, "0 0", 0, false)]
    // One interval later one token is back.
    [InlineData(3, 1, "0 0 0", 1000, false)]
    [InlineData(3, 1, "0 0 0", 999, true)]
    // Failures spaced by the refill rate never spend the budget.
    [InlineData(3, 1, "0 1000 2000 3000 4000 5000", 0, false)]
    // Spent faster than refilled: refused.
    [InlineData(3, 2, "0 100 200 300 400 500", 0, true)]
    // Calls made while refused do not count (they are refused before any lookup): one interval brings one token back.
    [InlineData(2, 1, "0 0 0 0 0 0", 1000, false)]
    [InlineData(1, 1, "0", 0, true)]
    public void Refuses_a_caller_whose_budget_is_spent(int burst, int perSecond, string failures, int checkAfterMs, bool blocked)
    {
        var budget = new SeekFailureBudget(burst, perSecond);
        DateTimeOffset? tat = null;
        var at = Now;
        foreach (var offset in failures.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse))
        {
            at = Now.AddMilliseconds(offset);
            tat = budget.Spend(tat, at);
        }

        var check = at.AddMilliseconds(checkAfterMs);
        Assert.Equal(blocked, budget.IsBlocked(tat, check));
        Assert.Equal(blocked, budget.BlockedUntil(tat, check) is { } until && until > check);
    }

    [Fact]
    public void A_budget_refilled_completely_is_no_longer_kept()
    {
        var budget = new SeekFailureBudget(3, 1);
        var tat = budget.Spend(budget.Spend(null, Now), Now);
        Assert.True(SeekFailureBudget.IsSpent(tat, Now.AddMilliseconds(1999)));
        Assert.False(SeekFailureBudget.IsSpent(tat, Now.AddSeconds(2)));
    }

    [Theory]
    [InlineData("10.1.2.3", "10.1.2.3")]
    [InlineData("fd00::5", "fd00--5")]
    [InlineData("fe80::1%eth0", "fe80--1-eth0")]
    [InlineData("local", "local")]
    public void Peer_addresses_become_config_map_keys(string peer, string key) =>
        Assert.Equal(key, KubernetesSeekFailureLimiter.Key(peer));
}
