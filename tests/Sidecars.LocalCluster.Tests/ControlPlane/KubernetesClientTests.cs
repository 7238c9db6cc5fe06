using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sidecars.Kubernetes;
using Sidecars.Testing;
using Xunit;

namespace Sidecars.LocalCluster.Tests.ControlPlane;

/// <summary>
/// The Kubernetes client as the product uses it, against kube-apiserver: the watch of <see cref="KubernetesWatch"/>
/// and writing back objects as read (managed fields included) through the source-generated serializer.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class KubernetesClientTests
{
    private readonly ControlPlaneFixture _fixture;

    public KubernetesClientTests(ControlPlaneFixture fixture) => _fixture = fixture;

    private k8s.Kubernetes Client => _fixture.Client;

    [Fact]
    public async Task A_watch_from_a_list_delivers_added_modified_and_deleted_in_order_for_its_selector_only()
    {
        var ns = await _fixture.NewNamespaceAsync("watch");
        var list = await Client.CoreV1.ListNamespacedConfigMapAsync(ns);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var errors = new List<Exception>();
        var events = new List<(WatchEventType, string, string?)>();
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, item) in Client.WatchAsync<V1ConfigMap>(
                new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "configmaps", ns), list.Metadata.ResourceVersion, LabelSelector: "watched=yes"),
                errors.Add, stop.Token))
            {
                if (type == WatchEventType.Bookmark)
                {
                    continue;
                }

                events.Add((type, item.Metadata.Name, (item.Data is { } data && data.TryGetValue("k", out var value) ? value : null)));
                if (type == WatchEventType.Deleted)
                {
                    return;
                }
            }
        });

        await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("other", "no", "0"), ns);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("one", "yes", "1"), ns);
        var read = await Client.CoreV1.ReadNamespacedConfigMapAsync("one", ns);
        read.Data["k"] = "2";
        await Client.CoreV1.ReplaceNamespacedConfigMapAsync(read, "one", ns);
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("one", ns);
        await watching.WaitAsync(stop.Token);

        Assert.Empty(errors);
        Assert.Equal([(WatchEventType.Added, "one", "1"), (WatchEventType.Modified, "one", "2"), (WatchEventType.Deleted, "one", "2")], events);
    }

    [Fact]
    public async Task A_watch_ends_without_error_when_the_server_ends_it_at_its_timeout()
    {
        var ns = await _fixture.NewNamespaceAsync("watch");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("present", "yes", "1"), ns);
        var errors = new List<Exception>();
        var seen = new List<(WatchEventType, string)>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await foreach (var (type, item) in Client.WatchAsync<V1ConfigMap>(
            new WatchRequest(KubernetesWatch.CollectionPath("", "v1", "configmaps", ns), LabelSelector: "watched", TimeoutSeconds: 1, AllowBookmarks: false),
            errors.Add, stop.Token))
        {
            seen.Add((type, item.Metadata.Name));
        }

        // Without a resourceVersion the watch starts with the current state, then the server ends it after a second.
        Assert.False(stop.IsCancellationRequested);
        Assert.Empty(errors);
        Assert.Equal([(WatchEventType.Added, "present")], seen);
    }

    [Fact]
    public async Task A_watch_the_server_refuses_throws_with_its_status_code()
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(async () =>
        {
            await foreach (var _ in Client.WatchAsync<V1ConfigMap>(new WatchRequest("api/v1/nosuchthings")))
            {
            }
        });
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task An_object_read_with_its_managed_fields_is_written_back_as_read()
    {
        var ns = await _fixture.NewNamespaceAsync("lease");
        await Client.CoordinationV1.CreateNamespacedLeaseAsync(
            new V1Lease { Metadata = new V1ObjectMeta { Name = "held" }, Spec = new V1LeaseSpec { HolderIdentity = "a" } }, ns);
        var read = await Client.CoordinationV1.ReadNamespacedLeaseAsync("held", ns);
        Assert.NotEmpty(read.Metadata.ManagedFields);
        Assert.NotNull(read.Metadata.ManagedFields[0].FieldsV1);

        read.Spec.HolderIdentity = "b";
        var replaced = await Client.CoordinationV1.ReplaceNamespacedLeaseAsync(read, "held", ns);

        Assert.Equal("b", replaced.Spec.HolderIdentity);
        Assert.Contains("\"fieldsV1\"", KubernetesSerialization.Serialize(replaced), StringComparison.Ordinal);
    }

    private static V1ConfigMap ConfigMap(string name, string watched, string value) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["watched"] = watched } },
        Data = new Dictionary<string, string> { ["k"] = value },
    };
}
