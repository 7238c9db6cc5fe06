using k8s.Models;

namespace Sidecars.Clusters.Tests;

public sealed class ClusterReconcilerTests
{
    public static TheoryData<string, V1Deployment?, ObservedPhase> Table() => new()
    {
        { "absent", null, ObservedPhase.Absent },
        { "just created, not observed by the controller", Deployments.Make(generation: 1, observedGeneration: null), ObservedPhase.Progressing },
        { "new generation not observed yet, old one fully available", Deployments.Make(generation: 2, observedGeneration: 1, available: 3, ready: 3, availableCondition: "True"), ObservedPhase.Progressing },
        { "some replicas available", Deployments.Make(available: 2, ready: 2, total: 3, availableCondition: "True"), ObservedPhase.Progressing },
        { "all available but condition not yet True", Deployments.Make(available: 3, ready: 3, availableCondition: "False"), ObservedPhase.Progressing },
        { "all available, condition missing", Deployments.Make(available: 3, ready: 3), ObservedPhase.Progressing },
        { "all available but an old replica still running (rollout)", Deployments.Make(available: 3, ready: 3, updated: 2, total: 4, availableCondition: "True"), ObservedPhase.Progressing },
        { "available with every replica", Deployments.Available(), ObservedPhase.Available },
        { "zero replicas", Deployments.Make(replicas: 0, availableCondition: "True"), ObservedPhase.Available },
        { "progress deadline exceeded", Deployments.Make(available: 1, progressing: "deadline"), ObservedPhase.Failed },
        { "replica failure stays progressing", Deployments.Make(available: 0, replicaFailure: true), ObservedPhase.Progressing },
        { "being deleted", Deployments.Make(available: 3, ready: 3, availableCondition: "True", deleting: true), ObservedPhase.Deleting },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Observation_matches_table(string description, V1Deployment? deployment, ObservedPhase expected)
    {
        var observation = ClusterReconciler.Observe(deployment);
        Assert.True(expected == observation.Phase, $"{description}: expected {expected}, got {observation.Phase} ({observation.Reason}: {observation.Message})");
    }

    [Fact]
    public void Replica_failure_reason_is_reported()
    {
        var observation = ClusterReconciler.Observe(Deployments.Make(replicaFailure: true));
        Assert.Equal("FailedCreate", observation.Reason);
        Assert.Equal("quota exceeded", observation.Message);
    }

    [Fact]
    public void Figures_come_from_spec_and_status()
    {
        var observation = ClusterReconciler.Observe(Deployments.Make(replicas: 30, available: 12, ready: 14, total: 30, availableCondition: "False"));
        Assert.Equal((30, 14, 12), (observation.Replicas, observation.ReadyReplicas, observation.AvailableReplicas));
    }
}
