using System.Diagnostics;
using Xunit.Abstractions;

namespace Sidecars.RealNode.Tests;

/// <summary>No image pull leaves the machine: a public image name fails at once with a clear event.</summary>
[Collection(RealNodeCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class PublicImageTests(RealNodeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan FailFast = TimeSpan.FromSeconds(30);

    // Every registry name is served by the local registry (containerd's _default host entry), which has neither
    // image: the pull is answered "not found" on loopback instead of going out. (InjectionTests pull the project's
    // images under the shipped registry name the same way.)
    [RealNodeFact]
    public Task A_docker_hub_image_is_looked_up_in_the_local_registry_only() =>
        AssertPullFailsFastAsync("docker.io/library/nginx:1.25");

    [RealNodeFact]
    public Task An_image_of_any_other_registry_is_looked_up_in_the_local_registry_only() =>
        AssertPullFailsFastAsync("registry.example.org/team/app:1.0");

    private async Task AssertPullFailsFastAsync(string image)
    {
        var ns = await fixture.Cluster.NewNamespaceAsync("public-image");
        var clock = Stopwatch.StartNew();
        await fixture.Cluster.KubectlAsync(["apply", "-n", ns, "-f", "-"], Manifests.PlainPod("public", image));
        var failure = string.Empty;
        await Eventually.UntilAsync(
            async () =>
            {
                failure = (await fixture.Cluster.EventsOfAsync(ns, "public")).FirstOrDefault(e => e.StartsWith("Failed: Failed to pull image", StringComparison.Ordinal)) ?? string.Empty;
                return failure.Length > 0;
            },
            $"a pull failure event for {image}",
            FailFast);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s to the event: {failure}");
        Assert.Contains($"failed to resolve reference \"{image}\": {image}: not found", failure, StringComparison.Ordinal);
    }
}
