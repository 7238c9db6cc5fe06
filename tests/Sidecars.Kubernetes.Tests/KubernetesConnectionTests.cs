using k8s;
using Sidecars.Kubernetes;

namespace Sidecars.Kubernetes.Tests;

public sealed class KubernetesConnectionTests
{
    [Fact]
    public void An_https_apiserver_without_a_ca_is_refused_with_the_reason()
    {
        var error = Assert.Throws<ArgumentException>(() => KubernetesConnection.Create(new KubernetesClientConfiguration { Host = "https://127.0.0.1:6443" }));

        Assert.Contains("names no CA", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skipping_verification_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => KubernetesConnection.Create(
            new KubernetesClientConfiguration { Host = "https://127.0.0.1:6443", SkipTlsVerify = true }));

        Assert.Contains("skips its verification", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_are_relative_to_the_apiserver_and_carry_its_token()
    {
        using var connection = KubernetesConnection.Create(new KubernetesClientConfiguration { Host = "http://127.0.0.1:6443/prefix", AccessToken = "t0k3n" });

        Assert.Equal("http://127.0.0.1:6443/prefix/api/v1/namespaces", new Uri(connection.BaseUri, "api/v1/namespaces").AbsoluteUri);
        using var message = new HttpRequestMessage(HttpMethod.Get, connection.BaseUri);
        await connection.Credentials!.ProcessHttpRequestAsync(message, CancellationToken.None);
        Assert.Equal(("Bearer", "t0k3n"), (message.Headers.Authorization?.Scheme, message.Headers.Authorization?.Parameter));
    }
}
