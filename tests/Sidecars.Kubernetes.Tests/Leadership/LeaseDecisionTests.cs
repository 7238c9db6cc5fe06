using Sidecars.Kubernetes.Leadership;

namespace Sidecars.Kubernetes.Tests.Leadership;

public sealed class LeaseDecisionTests
{
    private static readonly DateTimeOffset Seen = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, string?, int, string, double, LeaseAction> Cases => new()
    {
        // case, holder (null: no Lease; "": released), lease seconds, me, seconds since the Lease last changed, decision
        { "no lease", null, 15, "a", 0, LeaseAction.Create },
        { "mine, fresh", "a", 15, "a", 1, LeaseAction.Renew },
        { "mine, even past expiry", "a", 15, "a", 60, LeaseAction.Renew },
        { "released", "", 1, "b", 0, LeaseAction.Acquire },
        { "other holder, fresh", "a", 15, "b", 14.9, LeaseAction.Wait },
        { "other holder, just expired", "a", 15, "b", 15, LeaseAction.Acquire },
        { "other holder, long expired", "a", 15, "b", 300, LeaseAction.Acquire },
        { "other holder, short lease", "a", 1, "b", 1.5, LeaseAction.Acquire },
        { "identity compared exactly", "A", 15, "a", 1, LeaseAction.Wait },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decides_from_the_lease_the_candidate_and_the_time_it_last_changed(
        string description, string? holder, int seconds, string identity, double sinceChange, LeaseAction expected)
    {
        var lease = holder is null ? null : new LeaseRecord(holder, TimeSpan.FromSeconds(seconds), 0);
        Assert.True(expected == LeaseDecision.Decide(lease, Seen, identity, Seen.AddSeconds(sinceChange)), description);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(9.9, true)]
    [InlineData(10, false)]
    [InlineData(30, false)]
    public void A_leader_steps_down_once_the_renew_deadline_passed_without_a_renewal(double sinceRenewal, bool leading) =>
        Assert.Equal(leading, LeaseDecision.StillLeading(Seen, TimeSpan.FromSeconds(10), Seen.AddSeconds(sinceRenewal)));

    [Fact]
    public void Options_refuse_a_renew_deadline_not_shorter_than_the_lease()
    {
        var options = new LeaderElectionOptions { LeaseDuration = TimeSpan.FromSeconds(5), RenewDeadline = TimeSpan.FromSeconds(5) };
        var errors = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).ToList();
        Assert.Contains(errors, e => e.ErrorMessage!.Contains("RenewDeadline", StringComparison.Ordinal));
    }
}
