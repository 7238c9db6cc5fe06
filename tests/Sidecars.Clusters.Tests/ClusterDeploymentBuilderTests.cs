using Sidecars.Contracts.V1;

namespace Sidecars.Clusters.Tests;

public sealed class ClusterDeploymentBuilderTests
{
    [Theory]
    [InlineData("Bad_Name", 1, "img", "", "DNS label")]
    [InlineData("ok", -1, "img", "", "replicas")]
    [InlineData("ok", 2000, "img", "", "replicas")]
    [InlineData("ok", 1, "", "", "image or a pod template")]
    [InlineData("ok", 1, "", "{not json", "not valid JSON")]
    [InlineData("ok", 1, "", "{\"spec\":{}}", "spec.containers")]
    public void Invalid_requests_are_explained(string name, int replicas, string image, string template, string expected)
    {
        var request = new CreateClusterRequest { Name = name, Replicas = replicas, Image = image, PodTemplateJson = template };
        var reason = ClusterDeploymentBuilder.Validate(request, 1000);
        Assert.NotNull(reason);
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Image_request_builds_labelled_deployment()
    {
        var request = new CreateClusterRequest { Name = "web", Replicas = 4, Image = "nginx:1", Args = { "-x" }, NodeSelector = { ["disk"] = "ssd" } };
        Assert.Null(ClusterDeploymentBuilder.Validate(request, 1000));
        var deployment = ClusterDeploymentBuilder.Build(request, "apps", CreateDeadline.After(DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(5), deleteOnTimeout: true));
        Assert.Equal(("web", "apps", 4), (deployment.Metadata.Name, deployment.Metadata.NamespaceProperty, deployment.Spec.Replicas!.Value));
        Assert.Equal("sidecars", deployment.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal("web", deployment.Spec.Selector.MatchLabels["sidecars.io/cluster"]);
        Assert.Equal("web", deployment.Spec.Template.Metadata.Labels["sidecars.io/cluster"]);
        Assert.Equal("nginx:1", deployment.Spec.Template.Spec.Containers[0].Image);
        Assert.Equal(["-x"], deployment.Spec.Template.Spec.Containers[0].Args);
        Assert.Equal("ssd", deployment.Spec.Template.Spec.NodeSelector["disk"]);
        Assert.True(deployment.Spec.ProgressDeadlineSeconds > 300);
        Assert.Equal("1970-01-01T00:05:00.000Z", deployment.Metadata.Annotations["sidecars.io/create-deadline"]);
        Assert.Equal("300", deployment.Metadata.Annotations["sidecars.io/create-timeout"]);
        Assert.Equal("delete", deployment.Metadata.Annotations["sidecars.io/on-timeout"]);
    }

    [Fact]
    public void Template_request_keeps_its_labels_and_gains_ours()
    {
        var request = new CreateClusterRequest
        {
            Name = "db",
            Replicas = 1,
            PodTemplateJson = """{"metadata":{"labels":{"tier":"db"}},"spec":{"containers":[{"name":"pg","image":"postgres"}]}}""",
        };
        Assert.Null(ClusterDeploymentBuilder.Validate(request, 1000));
        var template = ClusterDeploymentBuilder.Build(request, "apps", CreateDeadline.After(DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(1), deleteOnTimeout: false)).Spec.Template;
        Assert.Equal("db", template.Metadata.Labels["tier"]);
        Assert.Equal("db", template.Metadata.Labels["sidecars.io/cluster"]);
        Assert.Equal("pg", template.Spec.Containers[0].Name);
    }
}
