using k8s.Models;
using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Tests;

public sealed class LifecycleStepTests
{
    private static readonly DateTime Created = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    [Theory]
    [InlineData(false, false, false, 60, LifecycleAction.Wait)]
    [InlineData(false, false, false, 300, LifecycleAction.Reap)]
    [InlineData(true, false, false, 60, LifecycleAction.MarkReady)]
    [InlineData(true, false, false, 900, LifecycleAction.MarkReady)]
    [InlineData(false, true, false, 900, LifecycleAction.None)]
    [InlineData(true, true, false, 60, LifecycleAction.None)]
    [InlineData(false, false, true, 900, LifecycleAction.None)]
    public void Decides_from_readiness_the_ready_mark_deletion_and_the_deadline(bool ready, bool markedReady, bool deleting, int secondsAfterCreation, LifecycleAction expected)
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "p",
                CreationTimestamp = Created,
                DeletionTimestamp = deleting ? Created : null,
                Annotations = markedReady ? new Dictionary<string, string> { [UserPodKeys.ReadyAt] = "2030-01-01T12:00:30Z" } : null,
            },
            Status = new V1PodStatus { Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }] },
        };

        var step = LifecycleStep.Decide(pod, new DateTimeOffset(Created).AddSeconds(secondsAfterCreation), Timeout);

        Assert.Equal(expected, step.Action);
        Assert.Equal(new DateTimeOffset(Created) + Timeout, step.Deadline);
    }

    [Theory]
    [InlineData(false, 60, LifecycleAction.Wait)]
    [InlineData(true, 60, LifecycleAction.Wait)]
    [InlineData(false, 300, LifecycleAction.Reap)]
    [InlineData(true, 900, LifecycleAction.Reap)]
    public void A_pod_whose_creation_never_finished_is_never_marked_ready_and_is_reaped_at_its_deadline(bool ready, int secondsAfterCreation, LifecycleAction expected)
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "p",
                CreationTimestamp = Created,
                Annotations = new Dictionary<string, string> { [UserPodKeys.Creating] = "true" },
            },
            Status = new V1PodStatus { Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }] },
        };

        var step = LifecycleStep.Decide(pod, new DateTimeOffset(Created).AddSeconds(secondsAfterCreation), Timeout);

        Assert.Equal(expected, step.Action);
        Assert.Equal(new DateTimeOffset(Created) + Timeout, step.Deadline);
    }
}
