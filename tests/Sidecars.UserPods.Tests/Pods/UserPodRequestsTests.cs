using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Tests.Pods;

public sealed class UserPodRequestsTests
{
    [Fact]
    public void The_instance_and_name_suffix_follow_from_the_user_and_the_request_alone()
    {
        var instance = UserPodRequests.Instance("alice@example.org", "order-17");

        Assert.Equal(instance, UserPodRequests.Instance("alice@example.org", "order-17"));
        Assert.NotEqual(instance, UserPodRequests.Instance("bob@example.org", "order-17"));
        Assert.NotEqual(instance, UserPodRequests.Instance("alice@example.org", "order-18"));
        Assert.Matches("^[0-9a-f]{16}$", instance);
        var suffix = UserPodRequests.NameSuffix(instance);
        Assert.Equal(UserPodRequests.NameSuffixLength, suffix.Length);
        Assert.Matches("^[bcdfghjklmnpqrstvwxz2456789]+$", suffix);
        Assert.Equal(suffix, UserPodRequests.NameSuffix(UserPodRequests.Instance("alice@example.org", "order-17")));
    }

    [Theory]
    [InlineData("order-17", null)]
    [InlineData("7f0c2b1e-5d4a-4c8e-9b1f-0a2d3e4f5a6b", null)]
    [InlineData("with space", "printable ASCII")]
    [InlineData("tab\there", "printable ASCII")]
    [InlineData("caf\u00e9", "printable ASCII")]
    public void A_request_id_is_printable_ASCII(string requestId, string? refusal)
    {
        var invalid = UserPodRequests.Invalid(requestId);

        if (refusal is null)
        {
            Assert.Null(invalid);
        }
        else
        {
            Assert.Contains(refusal, invalid, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_request_id_is_at_most_128_characters()
    {
        Assert.Null(UserPodRequests.Invalid(new string('r', 128)));
        Assert.Contains("at most 128", UserPodRequests.Invalid(new string('r', 129)), StringComparison.Ordinal);
    }
}
