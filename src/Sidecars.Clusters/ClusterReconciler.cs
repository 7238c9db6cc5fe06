using k8s.Models;
using Sidecars.Kubernetes;

namespace Sidecars.Clusters;

/// <summary>The observation of a cluster's Deployment: phase plus the figures and reason reported to callers.</summary>
public sealed record Observation(ObservedPhase Phase, int Replicas, int ReadyReplicas, int AvailableReplicas, string Reason, string Message);

/// <summary>Pure step from an observed Deployment to what it means for the cluster. No I/O, no clock.</summary>
public static class ClusterReconciler
{
    public static Observation Observe(V1Deployment? deployment)
    {
        if (deployment is null)
        {
            return new Observation(ObservedPhase.Absent, 0, 0, 0, "NotFound", "the Deployment does not exist");
        }

        var replicas = deployment.Spec?.Replicas ?? 1;
        var status = deployment.Status;
        var ready = status?.ReadyReplicas ?? 0;
        var available = status?.AvailableReplicas ?? 0;
        Observation Make(ObservedPhase phase, string reason, string message) => new(phase, replicas, ready, available, reason, message);

        if (deployment.Metadata?.DeletionTimestamp is not null)
        {
            return Make(ObservedPhase.Deleting, "Deleting", "the Deployment is being deleted");
        }

        var generation = deployment.Metadata?.Generation ?? 0;
        var observedGeneration = status?.ObservedGeneration ?? 0;
        var progressing = Condition(deployment, "Progressing");
        if (progressing is { Status: "False", Reason: "ProgressDeadlineExceeded" })
        {
            return Make(ObservedPhase.Failed, "ProgressDeadlineExceeded", progressing.Message ?? "the Deployment made no progress in time");
        }

        if (observedGeneration < generation)
        {
            return Make(ObservedPhase.Progressing, "Pending", $"the Deployment controller has not observed generation {generation} yet");
        }

        if (KubernetesConditions.IsDeploymentAvailable(deployment))
        {
            return Make(ObservedPhase.Available, "Available", $"{available}/{replicas} replicas available");
        }

        var replicaFailure = Condition(deployment, "ReplicaFailure");
        if (replicaFailure?.Status == "True")
        {
            return Make(ObservedPhase.Progressing, replicaFailure.Reason ?? "ReplicaFailure", replicaFailure.Message ?? "pods cannot be created");
        }

        return Make(ObservedPhase.Progressing, "Progressing", $"{available}/{replicas} replicas available, {ready} ready");
    }

    private static V1DeploymentCondition? Condition(V1Deployment deployment, string type) =>
        deployment.Status?.Conditions?.FirstOrDefault(c => c.Type == type);
}
