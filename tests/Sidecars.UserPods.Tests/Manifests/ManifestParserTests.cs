using Sidecars.UserPods.Manifests;

namespace Sidecars.UserPods.Tests;

public sealed class ManifestParserTests
{
    private const string Pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: jupyter
          annotations:
            sciencedata.dk/copy-token: token
        spec:
          containers:
            - name: jupyter
              image: LOCALREGISTRY/jupyter:latest
        """;

    private const string Service = """
        apiVersion: v1
        kind: Service
        metadata:
          name: jupyter
        spec:
          ports:
            - port: 80
              targetPort: 8888
        """;

    private const string Ingress = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: jupyter
        spec:
          rules:
            - host: ignored.example.org
              http:
                paths:
                  - path: /
                    pathType: Prefix
                    backend:
                      service:
                        name: jupyter
                        port:
                          number: 80
        """;

    [Fact]
    public void Parses_a_pod_with_its_service_and_ingress()
    {
        var manifest = ManifestParser.Parse(Pod + "\n---\n" + Service + "\n---\n" + Ingress);
        Assert.Equal("jupyter", manifest.Pod.Metadata.Name);
        Assert.NotNull(manifest.Service);
        Assert.NotNull(manifest.Ingress);
    }

    [Fact]
    public void A_pod_alone_is_enough()
    {
        var manifest = ManifestParser.Parse(Pod);
        Assert.Null(manifest.Service);
        Assert.Null(manifest.Ingress);
    }

    [Theory]
    [InlineData("kind: Pod\n  metadata: [oops\n", "not valid Kubernetes YAML")]
    [InlineData("just some text", "not valid Kubernetes YAML")]
    [InlineData("", "it has no Pod")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers: []\n", "its Pod has no containers")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\nspec:\n  containers:\n    - name: a\n      image: b\n", "neither metadata.name nor metadata.generateName")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n    - name: a\n", "every container needs a name and an image")]
    [InlineData("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n", "kind apps/v1/Deployment is not supported")]
    [InlineData("apiVersion: example.org/v1\nkind: Widget\nmetadata:\n  name: a\n", "kind example.org/v1/Widget is not supported")]
    public void Invalid_manifests_are_refused_with_the_reason(string yaml, string reason)
    {
        var e = Assert.Throws<UserPodsException>(() => ManifestParser.Parse(yaml));
        Assert.Equal(UserPodsError.InvalidArgument, e.Error);
        Assert.StartsWith("invalid manifest: ", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Two_pods_are_refused()
    {
        var e = Assert.Throws<UserPodsException>(() => ManifestParser.Parse(Pod + "\n---\n" + Pod));
        Assert.Contains("more than one Pod", e.Message);
    }

    [Fact]
    public void An_ingress_needs_a_service()
    {
        var e = Assert.Throws<UserPodsException>(() => ManifestParser.Parse(Pod + "\n---\n" + Ingress));
        Assert.Contains("its Ingress needs a Service", e.Message);
    }
}
