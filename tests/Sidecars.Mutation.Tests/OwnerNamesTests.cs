namespace Sidecars.Mutation.Tests;

public sealed class OwnerNamesTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("Alice.Smith", "Alice.Smith")]
    [InlineData("system:serviceaccount:team-a:builder", "system_serviceaccount_team-a_builder")]
    [InlineData("alice@example.org", "alice_example.org")]
    [InlineData("-alice-", "alice")]
    [InlineData("@@@", "unknown")]
    [InlineData("", "unknown")]
    [InlineData("jörg", "j_rg")]
    [InlineData("oidc:https://idp.example.org/#alice", "oidc_https___idp.example.org__alice")]
    public void Label_value_rule(string owner, string expected) => Assert.Equal(expected, OwnerNames.ToLabelValue(owner));

    [Fact]
    public void Long_names_keep_a_prefix_and_a_hash()
    {
        var a = new string('a', 70) + "1";
        var b = new string('a', 70) + "2";

        var labelA = OwnerNames.ToLabelValue(a);
        var labelB = OwnerNames.ToLabelValue(b);

        Assert.Equal(63, labelA.Length);
        Assert.StartsWith(new string('a', 54) + "-", labelA, StringComparison.Ordinal);
        Assert.NotEqual(labelA, labelB);
        Assert.Equal(labelA, OwnerNames.ToLabelValue(a));
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("Alice@Example.org", "alice-example-org")]
    [InlineData("system:serviceaccount:ns:sa", "system-serviceaccount-ns-sa")]
    [InlineData("__", "unknown")]
    public void Dns_label_rule(string owner, string expected) => Assert.Equal(expected, OwnerNames.ToDnsLabel(owner));

    [Fact]
    public void Every_sanitised_label_is_a_valid_label_value()
    {
        foreach (var owner in new[] { "a", "x:y", "__x__", new string('é', 100), "a.b-c_d", "1", new string('z', 200) + ":" })
        {
            var label = OwnerNames.ToLabelValue(owner);
            Assert.True(KubernetesNames.IsLabelValue(label), $"{owner} -> {label}");
            Assert.True(KubernetesNames.IsDnsLabel(OwnerNames.ToDnsLabel(owner)), owner);
        }
    }
}
