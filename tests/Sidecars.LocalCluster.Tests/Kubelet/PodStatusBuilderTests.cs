using k8s.Models;
using Xunit;

namespace Sidecars.LocalCluster.Tests;

public sealed class PodStatusBuilderTests
{
    private static readonly DateTime Now = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    [Fact]
    public void A_stored_status_diverges_when_it_lost_the_phase_or_a_condition_the_kubelet_wrote()
    {
        V1PodStatus Status(string phase, string ready, params V1PodCondition[] more) => new()
        {
            Phase = phase,
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready }, new V1PodCondition { Type = "PodScheduled", Status = "True" }, .. more],
        };
        var written = Status("Running", "True");

        Assert.False(PodStatusBuilder.Diverges(Status("Running", "True"), written));
        // A condition the kubelet does not write (a readiness gate's) is someone else's to set.
        Assert.False(PodStatusBuilder.Diverges(Status("Running", "True", new V1PodCondition { Type = "example.com/gate", Status = "False" }), written));
        // The node lifecycle controller marked the pod not Ready; or the status was replaced.
        Assert.True(PodStatusBuilder.Diverges(Status("Running", "False"), written));
        Assert.True(PodStatusBuilder.Diverges(Status("Pending", "True"), written));
        Assert.True(PodStatusBuilder.Diverges(new V1PodStatus { Phase = "Running" }, written));
        Assert.True(PodStatusBuilder.Diverges(null, written));
    }

    [Fact]
    public void Pending_until_every_container_has_started()
    {
        Assert.Equal("Pending", PodStatusBuilder.Phase(initialized: true, initFailed: false, [Running("a"), Waiting("b")]));
        Assert.Equal("Pending", PodStatusBuilder.Phase(initialized: false, initFailed: false, [Waiting("a")]));
    }

    [Fact]
    public void Terminal_phases_follow_exit_codes()
    {
        Assert.Equal("Succeeded", PodStatusBuilder.Phase(true, false, [Terminated("a", 0), Terminated("b", 0)]));
        Assert.Equal("Failed", PodStatusBuilder.Phase(true, false, [Terminated("a", 0), Terminated("b", 1)]));
        Assert.Equal("Running", PodStatusBuilder.Phase(true, false, [Terminated("a", 0), Running("b")]));
        Assert.Equal("Failed", PodStatusBuilder.Phase(false, true, [Waiting("a")]));
    }

    [Fact]
    public void Restarting_container_keeps_the_pod_running()
    {
        var restarting = Waiting("a");
        restarting.RestartCount = 1;
        restarting.LastState = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 1 } };

        Assert.Equal("Running", PodStatusBuilder.Phase(true, false, [restarting]));
    }

    [Fact]
    public void Ready_needs_every_container_ready_and_every_readiness_gate_true()
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "p", Uid = "u" },
            Spec = new V1PodSpec { ReadinessGates = [new V1PodReadinessGate { ConditionType = "example.test/gate" }] },
            Status = new V1PodStatus { Conditions = [new V1PodCondition { Type = "example.test/gate", Status = "False" }] },
        };
        var tracker = new PodConditionTracker();

        var gated = PodStatusBuilder.Build(pod, "127.9.0.1", Now, [], [Running("a")], false, tracker, Now);
        Assert.Equal("True", gated.Conditions.Single(c => c.Type == "ContainersReady").Status);
        Assert.Equal("False", gated.Conditions.Single(c => c.Type == "Ready").Status);

        pod.Status.Conditions[0].Status = "True";
        var later = Now.AddSeconds(5);
        var open = PodStatusBuilder.Build(pod, "127.9.0.1", Now, [], [Running("a")], false, tracker, later);
        var ready = open.Conditions.Single(c => c.Type == "Ready");
        Assert.Equal("True", ready.Status);
        Assert.Equal(later, ready.LastTransitionTime);
        Assert.Equal(Now, open.Conditions.Single(c => c.Type == "ContainersReady").LastTransitionTime);
        Assert.Equal("127.9.0.1", Assert.Single(open.PodIPs).Ip);
    }

    private static ContainerRuntime Waiting(string name) => new(new V1Container { Name = name, Image = "i" }, isInit: false, runner: null);

    private static ContainerRuntime Running(string name)
    {
        var container = Waiting(name);
        container.Generation = 1;
        container.State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = Now } };
        return container;
    }

    private static ContainerRuntime Terminated(string name, int exitCode)
    {
        var container = Waiting(name);
        container.Generation = 1;
        container.State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = exitCode } };
        return container;
    }
}
