using Sidecars.UserPods.Manifests;

namespace Sidecars.UserPods.Tests;

public sealed class ManifestWhitelistTests
{
    private static readonly ManifestWhitelist Whitelist = new(@"https://raw\.githubusercontent\.com/deic-dk/pod_manifests/[a-z_/]+\.yaml");

    [Theory]
    [InlineData("https://raw.githubusercontent.com/deic-dk/pod_manifests/main/jupyter.yaml")]
    [InlineData("https://raw.githubusercontent.com/deic-dk/pod_manifests/testing/ubuntu_sciencedata.yaml")]
    public void Allows_urls_the_whole_pattern_matches(string url) => Assert.Null(Whitelist.Refusal(url));

    [Theory]
    [InlineData("https://evil.example/https://raw.githubusercontent.com/deic-dk/pod_manifests/main/a.yaml")]
    [InlineData("https://raw.githubusercontent.com/deic-dk/pod_manifests/main/a.yaml?x=https://evil")]
    [InlineData("https://raw.githubusercontent.com/deic-dk/pod_manifests/main/a.yaml.evil.example/x.yaml")]
    [InlineData("http://raw.githubusercontent.com/deic-dk/pod_manifests/main/a.yaml")]
    public void Refuses_partial_matches(string url)
    {
        var refusal = Whitelist.Refusal(url);
        Assert.NotNull(refusal);
        Assert.Contains("not on the manifest whitelist", refusal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("raw.githubusercontent.com/deic-dk/pod_manifests/main/a.yaml")]
    [InlineData("file:///etc/passwd")]
    public void Refuses_what_is_not_an_http_url(string url) =>
        Assert.Contains("not an absolute http or https URL", Whitelist.Refusal(url));

    [Fact]
    public void An_alternation_in_the_pattern_is_anchored_as_a_whole()
    {
        var whitelist = new ManifestWhitelist(@"http://127\.0\.0\.1:\d+/a\.yaml|http://127\.0\.0\.1:\d+/b\.yaml");
        Assert.Null(whitelist.Refusal("http://127.0.0.1:80/b.yaml"));
        Assert.NotNull(whitelist.Refusal("http://127.0.0.1:80/a.yaml/../c.yaml"));
        Assert.NotNull(whitelist.Refusal("http://evil/http://127.0.0.1:80/b.yaml"));
    }
}
