using Xunit;

namespace Sidecars.LocalCluster.Tests;

public sealed class EnvironmentExpansionTests
{
    private static readonly Dictionary<string, string> Variables = new() { ["POD_IP"] = "127.3.0.9", ["PORT"] = "9090" };

    [Theory]
    [InlineData("http://$(POD_IP):$(PORT)/healthz", "http://127.3.0.9:9090/healthz")]
    [InlineData("$(MISSING)", "$(MISSING)")]
    [InlineData("$$(POD_IP)", "$(POD_IP)")]
    [InlineData("cost $5", "cost $5")]
    [InlineData("trailing $", "trailing $")]
    [InlineData("$(unterminated", "$(unterminated")]
    public void Expands_like_kubernetes(string input, string expected) =>
        Assert.Equal(expected, EnvironmentExpansion.Expand(input, Variables));
}
