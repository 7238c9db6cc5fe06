using k8s.Models;
using Sidecars.Kubernetes;
using Xunit;

namespace Sidecars.LocalCluster.Tests;

public sealed class PodEventPlanTests
{
    [Fact]
    public void A_new_or_changed_pod_runs_and_nothing_stops()
    {
        Assert.Equal((null, "a"), Plan(ResourceEventType.Added, Pod("a"), null));
        Assert.Equal((null, "a"), Plan(ResourceEventType.Modified, Pod("a"), Pod("a")));
    }

    [Fact]
    public void A_deleted_pod_stops()
    {
        Assert.Equal(("a", null), Plan(ResourceEventType.Deleted, Pod("a"), Pod("a")));
    }

    [Fact]
    public void A_pod_replaced_under_its_name_stops_the_old_one_and_runs_the_new_one()
    {
        Assert.Equal(("old", "new"), Plan(ResourceEventType.Modified, Pod("new"), Pod("old")));
    }

    private static (string? Stop, string? Run) Plan(ResourceEventType type, V1Pod item, V1Pod? old)
    {
        var (stop, run) = PodEventPlan.For(new ResourceEvent<V1Pod>(type, item, old));
        return (stop, run?.Metadata.Uid);
    }

    private static V1Pod Pod(string uid) =>
        new() { Metadata = new V1ObjectMeta { Name = "web-0", NamespaceProperty = "team-a", Uid = uid } };
}
