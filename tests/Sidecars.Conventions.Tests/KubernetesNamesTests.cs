namespace Sidecars.Conventions.Tests;

public sealed class KubernetesNamesTests
{
    [Theory]
    [InlineData("a", true, true, true)]
    [InlineData("a-b", true, true, true)]
    [InlineData("a.b", false, true, true)]
    [InlineData("A", false, false, true)]
    [InlineData("a_b", false, false, true)]
    [InlineData("-a", false, false, false)]
    [InlineData("a-", false, false, false)]
    [InlineData("", false, false, true)]
    [InlineData("é", false, false, false)]
    public void Name_rules(string value, bool dnsLabel, bool dnsSubdomain, bool labelValue)
    {
        Assert.Equal(dnsLabel, KubernetesNames.IsDnsLabel(value));
        Assert.Equal(dnsSubdomain, KubernetesNames.IsDnsSubdomain(value));
        Assert.Equal(labelValue, KubernetesNames.IsLabelValue(value));
    }

    [Fact]
    public void Length_limits()
    {
        Assert.True(KubernetesNames.IsDnsLabel(new string('a', 63)));
        Assert.False(KubernetesNames.IsDnsLabel(new string('a', 64)));
        Assert.True(KubernetesNames.IsLabelValue(new string('a', 63)));
        Assert.False(KubernetesNames.IsLabelValue(new string('a', 64)));
        Assert.True(KubernetesNames.IsDnsSubdomain(string.Join(".", Enumerable.Repeat(new string('a', 63), 3)) + "." + new string('a', 61)));
        Assert.False(KubernetesNames.IsDnsSubdomain(new string('a', 254)));
        Assert.False(KubernetesNames.IsDnsLabel(null));
    }

    [Theory]
    [InlineData("x-4oymiquy7qobj", true)]
    [InlineData("-4oymiquy7qobj", true)]
    [InlineData("x-4oymiquy7qob", false)]
    [InlineData("x_4oymiquy7qobj", false)]
    [InlineData("x-4oymiquy7qob1", false)]
    [InlineData("x-4OYMIQUY7QOBJ", false)]
    public void Hash_suffix_shape(string value, bool expected) => Assert.Equal(expected, KubernetesNames.EndsWithHash(value));

    [Theory]
    [InlineData(30, "jupyter-notebook", "jupyter-notebook")]
    [InlineData(24, "alice@example.org", "alice-exam-")]
    [InlineData(15, "a:b", "a-")]
    public void Shorter_limits_cut_the_readable_part(int max, string value, string prefix)
    {
        var label = KubernetesNames.ToDnsLabel(value, max);

        Assert.StartsWith(prefix, label, StringComparison.Ordinal);
        Assert.True(label.Length <= max, label);
        Assert.True(KubernetesNames.IsDnsLabel(label), label);
    }

    [Fact]
    public void Limits_outside_what_a_hash_fits_in_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KubernetesNames.ToDnsLabel("a", 14));
        Assert.Throws<ArgumentOutOfRangeException>(() => KubernetesNames.ToLabelValue("a", 64));
    }
}
