using Xunit;

namespace Sidecars.LocalCluster.Tests;

public sealed class StartupTests
{
    [Fact]
    public async Task Missing_binaries_fail_with_the_way_to_build_them()
    {
        var options = new LocalControlPlaneOptions { BinDirectory = Path.Combine(Path.GetTempPath(), "no-such-k8s-bin") };

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => LocalControlPlane.StartAsync(options));

        Assert.Contains("tests/controlplane/install.sh", error.Message, StringComparison.Ordinal);
        Assert.Contains("kube-apiserver", error.Message, StringComparison.Ordinal);
    }
}
