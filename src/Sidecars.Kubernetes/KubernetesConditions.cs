using k8s.Models;

namespace Sidecars.Kubernetes;

/// <summary>The one definition of the object states Sidecars waits for and reports.</summary>
public static class KubernetesConditions
{
    /// <summary>The pod's <c>Ready</c> condition is <c>True</c>.</summary>
    public static bool IsPodReady(V1Pod? pod) =>
        pod?.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    /// <summary>
    /// The Deployment controller has seen the current spec and every wanted replica is updated and available, with
    /// none of an older revision left (what <c>kubectl rollout status</c> waits for), and reports <c>Available</c>.
    /// </summary>
    public static bool IsDeploymentAvailable(V1Deployment? deployment)
    {
        if (deployment?.Status is not { } status)
        {
            return false;
        }

        var replicas = deployment.Spec?.Replicas ?? 1;
        return (status.ObservedGeneration ?? 0) >= (deployment.Metadata?.Generation ?? 0)
            && (status.UpdatedReplicas ?? 0) == replicas
            && (status.AvailableReplicas ?? 0) == replicas
            && (status.Replicas ?? 0) == replicas
            && status.Conditions?.Any(c => c.Type == "Available" && c.Status == "True") == true;
    }
}
