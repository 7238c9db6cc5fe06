using k8s;
using k8s.Models;

namespace Sidecars.Mutation.Tests.Manifests;

/// <summary>Manifests read into the model types their apiVersion and kind name.</summary>
public sealed class KubernetesObjectsTests
{
    private const string Manifest = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 2
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
                - name: web
                  image: nginx
                  ports: [{containerPort: 80}]
                  resources:
                    limits: {cpu: 500m, memory: 1Gi}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          ports: [{port: 80, targetPort: http}]
        ---
        apiVersion: example.org/v1
        kind: Widget
        metadata:
          name: w
        """;

    [Fact]
    public void Every_document_is_read_as_its_kind_and_an_unknown_kind_by_name_only()
    {
        var objects = KubernetesObjects.ReadAll(Manifest);

        Assert.Equal(3, objects.Count);
        var deployment = Assert.IsType<V1Deployment>(objects[0]);
        Assert.Equal(2, deployment.Spec.Replicas);
        var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
        Assert.Equal(80, Assert.Single(container.Ports).ContainerPort);
        Assert.Equal("500m", container.Resources.Limits["cpu"].ToString());
        Assert.Equal("http", Assert.IsType<V1Service>(objects[1]).Spec.Ports[0].TargetPort.Value);
        var widget = Assert.IsType<KubernetesObject>(objects[2]);
        Assert.Equal(("example.org/v1", "Widget"), (widget.ApiVersion, widget.Kind));
    }

    [Fact]
    public void One_object_of_the_asked_kind_is_read_alone()
    {
        var pod = KubernetesObjects.ReadOne<V1Pod>("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}""");
        Assert.Equal("p", pod.Metadata.Name);

        Assert.Contains("not a V1Pod", Assert.Throws<FormatException>(() => KubernetesObjects.ReadOne<V1Pod>(Manifest.Split("---")[1])).Message);
        Assert.Contains("3 documents", Assert.Throws<FormatException>(() => KubernetesObjects.ReadOne<V1Pod>(Manifest)).Message);
    }

    [Theory]
    [InlineData("just text", "not a mapping")]
    [InlineData("metadata: {name: a}", "no apiVersion and kind")]
    [InlineData("apiVersion: v1\nkind: Pod\nspec:\n  containers: oops\n", "a v1/Pod that does not fit its schema")]
    [InlineData("apiVersion: v1\nkind: Pod\n  metadata: [oops\n", "invalid YAML manifest")]
    public void What_is_not_a_Kubernetes_object_is_refused_with_the_reason(string text, string reason) =>
        Assert.Contains(reason, Assert.Throws<FormatException>(() => KubernetesObjects.ReadAll(text)).Message);
}
