namespace Sidecars.Conventions.Tests;

/// <summary>
/// The owner function. Expected hashes are the first 13 characters of the base32 (RFC 4648, lower case) SHA-256 of
/// the UTF-8 name, e.g. <c>printf %s 'John.Doe@x' | sha256sum | xxd -r -p | base32 | tr A-Z a-z | cut -c1-13</c>.
/// </summary>
public sealed class OwnerNamesTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("Alice.Smith", "Alice.Smith")]
    [InlineData("a_b-c.d", "a_b-c.d")]
    [InlineData("John.Doe@x", "John.Doe_x-7nafpfbdp47ny")]
    [InlineData("john-doe@x", "john-doe_x-qzq5jyk5ppr2r")]
    [InlineData("system:serviceaccount:team-a:builder", "system_serviceaccount_team-a_builder-2j3zwzgdn5nx7")]
    [InlineData("alice@example.org", "alice_example.org-pjsk34uhg7vja")]
    [InlineData("oidc:https://idp.example.org/#alice", "oidc_https_idp.example.org_alice-ag4ak2franeop")]
    [InlineData("-alice-", "alice-ro7hzw6dilb75")]
    [InlineData("jörg", "j_rg-clcdhierjt4rm")]
    [InlineData("😀", "x-6bcdunbml32up")]
    [InlineData("@@@", "x-f3eepwfddkmiw")]
    [InlineData("", "x-4oymiquy7qobj")]
    [InlineData("unknown", "unknown-wi5gvbbzydo6k")]
    [InlineData("a-abcdefghijklm", "a-abcdefghijklm-pmhoxczjvw74k")]
    public void Label_value(string owner, string expected) => Assert.Equal(expected, OwnerNames.ToLabelValue(owner));

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("team-a.builder", "team-a-builder-")]
    [InlineData("Alice", "alice-hpcrayuxhrcy2")]
    [InlineData("Alice.Smith", "alice-smith-f3hieuapknhel")]
    [InlineData("John.Doe@x", "john-doe-x-7nafpfbdp47ny")]
    [InlineData("john-doe@x", "john-doe-x-qzq5jyk5ppr2r")]
    [InlineData("john.doe@x", "john-doe-x-b3emyftswbo7m")]
    [InlineData("system:serviceaccount:team-a:builder", "system-serviceaccount-team-a-builder-2j3zwzgdn5nx7")]
    [InlineData("jörg", "j-rg-clcdhierjt4rm")]
    [InlineData("", "x-4oymiquy7qobj")]
    [InlineData("unknown", "unknown-wi5gvbbzydo6k")]
    public void Claim_name_fragment(string owner, string expected)
    {
        var fragment = OwnerNames.ToDnsLabel(owner);
        if (expected.EndsWith('-'))
        {
            Assert.StartsWith(expected, fragment, StringComparison.Ordinal);
            Assert.Equal(expected.Length + KubernetesNames.HashLength, fragment.Length);
        }
        else
        {
            Assert.Equal(expected, fragment);
        }
    }

    [Theory]
    [InlineData("John.Doe@x", "john-doe@x")]
    [InlineData("alice", "Alice")]
    [InlineData("a:b", "a_b")]
    [InlineData("a:b", "a;b")]
    [InlineData("a@b", "a@@b")]
    [InlineData("", "x")]
    [InlineData("😀", "😁")]
    public void Names_the_old_rules_merged_stay_apart(string a, string b)
    {
        Assert.NotEqual(OwnerNames.ToLabelValue(a), OwnerNames.ToLabelValue(b));
        Assert.NotEqual(OwnerNames.ToDnsLabel(a), OwnerNames.ToDnsLabel(b));
    }

    [Fact]
    public void No_name_can_be_chosen_to_equal_another_names_value()
    {
        foreach (var victim in new[] { "John.Doe@x", "", "system:serviceaccount:ns:sa", new string('a', 70) })
        {
            var label = OwnerNames.ToLabelValue(victim);
            var fragment = OwnerNames.ToDnsLabel(victim);

            Assert.NotEqual(label, OwnerNames.ToLabelValue(label));
            Assert.NotEqual(fragment, OwnerNames.ToDnsLabel(fragment));
            Assert.NotEqual(label, OwnerNames.ToLabelValue(fragment));
        }

        Assert.NotEqual(OwnerNames.Unknown, OwnerNames.ToLabelValue(OwnerNames.Unknown));
        Assert.NotEqual(OwnerNames.Unknown, OwnerNames.ToDnsLabel(OwnerNames.Unknown));
    }

    [Fact]
    public void Long_names_keep_a_readable_prefix_within_the_limit()
    {
        var a = new string('a', 70) + "1";
        var b = new string('a', 70) + "2";

        Assert.Equal(new string('a', 49) + "-kheaj4ie7xby3", OwnerNames.ToLabelValue(a));
        Assert.Equal(new string('a', 49) + "-nigritmvbmmac", OwnerNames.ToLabelValue(b));
        Assert.Equal(OwnerNames.ToLabelValue(a), OwnerNames.ToDnsLabel(a));
        Assert.Equal(63, OwnerNames.ToLabelValue(new string('a', 63) + "-").Length);
        Assert.Equal(new string('b', 63), OwnerNames.ToLabelValue(new string('b', 63)));
        Assert.NotEqual(new string('b', 64), OwnerNames.ToLabelValue(new string('b', 64)));
    }

    [Fact]
    public void Cut_readable_parts_end_in_a_letter_or_digit()
    {
        var owner = new string('a', 48) + ".:" + new string('b', 20);

        var label = OwnerNames.ToLabelValue(owner);

        Assert.StartsWith(new string('a', 48) + "-", label, StringComparison.Ordinal);
        Assert.True(KubernetesNames.IsLabelValue(label), label);
    }

    [Fact]
    public void Claim_names_fill_the_template()
    {
        Assert.Equal("sciencedata-alice", OwnerNames.ClaimName("sciencedata-{user}", "{user}", "alice"));
        Assert.Equal("data-john-doe-x-7nafpfbdp47ny-x", OwnerNames.ClaimName("data-{owner}-x", "{owner}", "John.Doe@x"));
    }

    /// <summary>
    /// Over many names (and the values they map to, taken as names in turn): every value is valid and within the
    /// limit, the same name always gives the same value, and two names never share one.
    /// </summary>
    [Fact]
    public void Values_are_valid_stable_and_distinct()
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { "", "-", ".", "_", "a", "A", "0", "unknown", "Unknown" };
        string[] parts = ["alice", "Alice", "bob.smith", "x", "@", ":", "/", "-", ".", "_", "é", "ß", "İ", "😀", "中文", " ", "\t", "0"];
        foreach (var first in parts)
        {
            foreach (var second in parts)
            {
                foreach (var third in parts)
                {
                    names.Add(first + second + third);
                }
            }
        }

        for (var length = 60; length <= 70; length++)
        {
            names.Add(new string('a', length));
            names.Add(new string('a', length - 1) + ":");
            names.Add(new string('a', length - 1) + "-");
        }

        foreach (var name in names.ToList())
        {
            names.Add(OwnerNames.ToLabelValue(name));
            names.Add(OwnerNames.ToDnsLabel(name));
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var fragments = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var label = OwnerNames.ToLabelValue(name);
            var fragment = OwnerNames.ToDnsLabel(name);
            Assert.True(label.Length is > 0 and <= 63 && KubernetesNames.IsLabelValue(label), $"'{name}' -> label '{label}'");
            Assert.True(KubernetesNames.IsDnsLabel(fragment), $"'{name}' -> fragment '{fragment}'");
            Assert.Equal(label, OwnerNames.ToLabelValue(name));
            Assert.True(labels.TryAdd(label, name), $"'{name}' and '{labels.GetValueOrDefault(label)}' share label '{label}'");
            Assert.True(fragments.TryAdd(fragment, name), $"'{name}' and '{fragments.GetValueOrDefault(fragment)}' share fragment '{fragment}'");
        }

        Assert.DoesNotContain(OwnerNames.Unknown, labels.Keys);
    }
}
