using k8s.Models;

namespace Sidecars.Clusters.Tests;

/// <summary>Builds Deployments in the states the reconcile tables need.</summary>
internal static class Deployments
{
    public static V1Deployment Make(
        int replicas = 3, long generation = 1, long? observedGeneration = 1, int available = 0, int ready = 0, int updated = -1,
        int total = -1, string? availableCondition = null, string? progressing = null, bool deleting = false, bool replicaFailure = false,
        IReadOnlyDictionary<string, string>? annotations = null)
    {
        var conditions = new List<V1DeploymentCondition>();
        if (availableCondition is not null)
        {
            conditions.Add(new V1DeploymentCondition { Type = "Available", Status = availableCondition });
        }

        if (progressing is not null)
        {
            conditions.Add(new V1DeploymentCondition { Type = "Progressing", Status = progressing == "deadline" ? "False" : "True", Reason = progressing == "deadline" ? "ProgressDeadlineExceeded" : "NewReplicaSetAvailable" });
        }

        if (replicaFailure)
        {
            conditions.Add(new V1DeploymentCondition { Type = "ReplicaFailure", Status = "True", Reason = "FailedCreate", Message = "quota exceeded" });
        }

        return new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "c1", NamespaceProperty = "ns", Generation = generation, DeletionTimestamp = deleting ? DateTime.UtcNow : null, Annotations = annotations is null ? null : new Dictionary<string, string>(annotations) },
            Spec = new V1DeploymentSpec { Replicas = replicas },
            Status = new V1DeploymentStatus
            {
                ObservedGeneration = observedGeneration,
                AvailableReplicas = available,
                ReadyReplicas = ready,
                UpdatedReplicas = updated < 0 ? available : updated,
                Replicas = total < 0 ? available : total,
                Conditions = conditions,
            },
        };
    }

    public static V1Deployment Available(int replicas = 3) =>
        Make(replicas, available: replicas, ready: replicas, availableCondition: "True", progressing: "ok");
}
