using Xunit;

namespace Sidecars.LocalCluster.Tests;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("LOCALREGISTRY/sidecars/agent:latest")]
    [InlineData("registry.example.com:5000/team/sidecars/agent:v1.2")]
    [InlineData("sidecars/agent")]
    [InlineData("localhost:5000/sidecars/agent@sha256:0123456789abcdef")]
    [InlineData("reg/sidecars/agent:1.0@sha256:0123456789abcdef")]
    public void Agent_runner_matches_agent_images_from_any_registry(string image) =>
        Assert.True(new AgentContainerRunner("/opt/sidecars-agent").Matches(image));

    [Theory]
    [InlineData("nginx:1.19")]
    [InlineData("registry/sidecars/agentx:latest")]
    [InlineData("registry/mysidecars/agent:latest")]
    [InlineData("registry/sidecars/agent/extra:latest")]
    [InlineData("registry:5000/sidecars")]
    public void Agent_runner_ignores_other_images(string image) =>
        Assert.False(new AgentContainerRunner("/opt/sidecars-agent").Matches(image));

    [Theory]
    [InlineData("registry:5000/a/b:tag", "registry:5000/a/b")]
    [InlineData("registry:5000/a/b", "registry:5000/a/b")]
    [InlineData("a/b@sha256:abc", "a/b")]
    [InlineData("nginx", "nginx")]
    public void Repository_strips_tag_and_digest_but_keeps_the_registry_port(string image, string repository) =>
        Assert.Equal(repository, ImageReference.RepositoryOf(image));

    [Fact]
    public void Agent_dll_runs_through_dotnet_with_the_container_args()
    {
        var runner = new AgentContainerRunner("/opt/agent/sidecars-agent.dll");
        var launch = new ContainerLaunch
        {
            Pod = new k8s.Models.V1Pod(),
            Container = new k8s.Models.V1Container { Name = "a", Image = "x/sidecars/agent" },
            Command = [],
            Args = ["pod-agent", "--socket", "/tmp/s.sock"],
            Environment = new Dictionary<string, string>(),
            PodIp = "127.1.0.1",
            PodDirectory = "/tmp/pod",
            Mounts = new Dictionary<string, string>(),
        };

        var startInfo = runner.CreateStartInfo(launch);

        Assert.Equal("dotnet", startInfo.FileName);
        Assert.Equal(["/opt/agent/sidecars-agent.dll", "pod-agent", "--socket", "/tmp/s.sock"], startInfo.ArgumentList);
    }
}
