using System.Text.Json;
using Sidecars.AgentLifecycle;
using Sidecars.Testing.PodApi;

namespace Sidecars.AgentLifecycle.Tests;

/// <summary>When the app containers of a pod count as finished.</summary>
public sealed class AppsDoneTests
{
    private static readonly HashSet<string> Sidecars = ["sidecars-pod-agent", "sidecars-lightpeer"];

    [Theory]
    [InlineData("Never", 0, 0, true)]
    [InlineData("Never", 0, 1, true)]
    [InlineData("Never", 0, null, false)]
    [InlineData("OnFailure", 0, 0, true)]
    [InlineData("OnFailure", 0, 2, false)]
    [InlineData("Always", 0, 0, false)]
    public void Every_app_container_must_have_terminated_for_good(string policy, int first, int? second, bool done)
    {
        var pod = Parse(Pods.Job("1", policy, ("work", first), ("helper", second)));

        Assert.Equal(done, AppsDone.Evaluate(pod, Sidecars, out var detail));
        Assert.False(string.IsNullOrEmpty(detail));
    }

    [Fact]
    public void The_sidecars_own_state_does_not_count()
    {
        // The pod-agent itself is running in this pod; only "work" is an app.
        Assert.True(AppsDone.Evaluate(Parse(Pods.Job("1", "Never", ("work", 0))), Sidecars, out _));
    }

    [Fact]
    public void A_pod_without_statuses_yet_is_not_done()
    {
        var pod = Parse("""{"metadata":{"name":"p"},"spec":{"restartPolicy":"Never","containers":[{"name":"work"}]},"status":{"phase":"Pending"}}""");

        Assert.False(AppsDone.Evaluate(pod, Sidecars, out var detail));
        Assert.Contains("work", detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pod_of_only_sidecars_is_never_done() =>
        Assert.False(AppsDone.Evaluate(Parse(Pods.Job("1", "Never")), Sidecars, out _));

    private static PodModel Parse(string json) => JsonSerializer.Deserialize(json, LifecycleJsonContext.Default.PodModel)!;
}
