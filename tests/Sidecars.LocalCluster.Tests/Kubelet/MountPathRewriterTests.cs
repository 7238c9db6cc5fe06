using Xunit;

namespace Sidecars.LocalCluster.Tests;

public sealed class MountPathRewriterTests
{
    private static readonly MountPathRewriter Rewriter = new(new Dictionary<string, string>
    {
        ["/var/run/sidecars"] = "/tmp/pod/volumes/sidecars-socket",
        ["/var/run/sidecars-secret/"] = "/tmp/pod/volumes/secret",
        ["/data"] = "/tmp/pod/volumes/data",
        ["/data/nested"] = "/tmp/pod/volumes/nested",
    });

    [Theory]
    [InlineData("/var/run/sidecars/agent.sock", "/tmp/pod/volumes/sidecars-socket/agent.sock")]
    [InlineData("/var/run/sidecars", "/tmp/pod/volumes/sidecars-socket")]
    [InlineData("/var/run/sidecars-secret/secret", "/tmp/pod/volumes/secret/secret")]
    [InlineData("/data/nested/file", "/tmp/pod/volumes/nested/file")]
    [InlineData("/data/other", "/tmp/pod/volumes/data/other")]
    [InlineData("--socket=/var/run/sidecars/agent.sock", "--socket=/tmp/pod/volumes/sidecars-socket/agent.sock")]
    public void Rewrites_paths_under_a_mount(string value, string expected) =>
        Assert.Equal(expected, Rewriter.Rewrite(value));

    [Theory]
    [InlineData("/var/run/sidecarsx/agent.sock")]
    [InlineData("/database")]
    [InlineData("pod-agent")]
    [InlineData("relative/data/file")]
    [InlineData("--level=info")]
    [InlineData("")]
    public void Leaves_other_values_alone(string value) =>
        Assert.Equal(value, Rewriter.Rewrite(value));
}
