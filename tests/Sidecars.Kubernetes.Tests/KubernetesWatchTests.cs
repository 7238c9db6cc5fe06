using k8s;
using k8s.Models;
using System.Text.Json;

namespace Sidecars.Kubernetes.Tests;

/// <summary>The request and the lines of a watch, as <see cref="KubernetesWatch"/> writes and reads them.</summary>
public sealed class KubernetesWatchTests
{
    private const string PodObject =
        "\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web-0\",\"resourceVersion\":\"9\",\"managedFields\":[{\"manager\":\"m\",\"fieldsV1\":{\"f:spec\":{}}}]}}}";

    [Theory]
    [InlineData("", "v1", "pods", null, "api/v1/pods")]
    [InlineData("", "v1", "pods", "team a", "api/v1/namespaces/team%20a/pods")]
    [InlineData("apps", "v1", "deployments", "web", "apis/apps/v1/namespaces/web/deployments")]
    [InlineData("", "v1", "namespaces", "", "api/v1/namespaces")]
    public void Collection_paths_name_the_group_version_and_namespace(string group, string version, string resource, string? ns, string expected) =>
        Assert.Equal(expected, KubernetesWatch.CollectionPath(group, version, resource, ns));

    [Fact]
    public void The_query_carries_every_given_parameter_escaped()
    {
        var uri = KubernetesWatch.BuildUri(new WatchRequest(
            "api/v1/pods", "42", "app in (a,b),tier!=db", "spec.nodeName=node 1", 300));

        Assert.Equal(
            "api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=42"
            + "&labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb&fieldSelector=spec.nodeName%3Dnode%201&timeoutSeconds=300",
            uri);
        Assert.Equal("api/v1/pods?watch=true", KubernetesWatch.BuildUri(new WatchRequest("api/v1/pods", AllowBookmarks: false)));
    }

    [Theory]
    [InlineData("ADDED", WatchEventType.Added)]
    [InlineData("MODIFIED", WatchEventType.Modified)]
    [InlineData("DELETED", WatchEventType.Deleted)]
    [InlineData("BOOKMARK", WatchEventType.Bookmark)]
    public void An_event_line_is_read_into_its_type_and_object(string type, WatchEventType expected)
    {
        var (parsed, pod, error) = KubernetesWatch.Parse(
            "{\"type\":\"" + type + "\"," + PodObject, KubernetesJsonMetadata.Pod);

        Assert.Null(error);
        Assert.Equal(expected, parsed);
        Assert.Equal(("web-0", "9"), (pod!.Metadata.Name, pod.Metadata.ResourceVersion));
        Assert.Contains("\"f:spec\"", KubernetesSerialization.Serialize(pod), StringComparison.Ordinal);
        Assert.Contains("\"f:spec\"", JsonSerializer.Serialize(pod, KubernetesJsonMetadata.Pod), StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => KubernetesJson.Serialize(pod));
    }

    [Fact]
    public void An_error_event_is_the_status_it_carries()
    {
        var (type, pod, error) = KubernetesWatch.Parse(
            """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (30)","reason":"Expired","code":410}}""",
            KubernetesJsonMetadata.Pod);

        Assert.Equal(WatchEventType.Error, type);
        Assert.Null(pod);
        var status = Assert.IsType<KubernetesException>(error).Status;
        Assert.Equal((410, "Expired"), (status.Code, status.Reason));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"type":"ADDED"}""")]
    [InlineData("""{"type":"ADDED","object":"pod"}""")]
    [InlineData("""{"type":"RENAMED","object":{"kind":"Pod"}}""")]
    [InlineData("""{"type":"ADDED","object":{"metadata":{"name":7}}}""")]
    public void A_line_that_is_not_an_event_is_an_error_with_the_reason(string line)
    {
        var (_, pod, error) = KubernetesWatch.Parse(line, KubernetesJsonMetadata.Pod);

        Assert.Null(pod);
        Assert.IsType<JsonException>(error, exactMatch: false);
    }
}
