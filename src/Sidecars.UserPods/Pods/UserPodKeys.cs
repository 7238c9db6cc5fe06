using Sidecars.Conventions;

namespace Sidecars.UserPods.Pods;

/// <summary>Labels and annotations the user-pods API puts on the objects it creates.</summary>
public static class UserPodKeys
{
    /// <summary>Label unique to one created pod; its Service selects it.</summary>
    public const string Instance = "sidecars.io/user-pod-instance";

    /// <summary>Annotation "true" when the pod has an Ingress at <c>&lt;pod&gt;.&lt;ingressDomain&gt;</c>.</summary>
    public const string Ingress = "sidecars.io/ingress";

    /// <summary>Annotation with the time the pod was first seen Ready; a pod that has it is never reaped at the create timeout.</summary>
    public const string ReadyAt = "sidecars.io/ready-at";

    /// <summary>
    /// Annotation on a pod whose Service or Ingress is still being created; removed once they exist, before the
    /// create call answers. A pod that keeps it (its creator died or gave up) is a half-created pod: nobody is told of
    /// it, get_pods and watch_create_pod do not count it, and the lifecycle deletes it at its create deadline.
    /// </summary>
    public const string Creating = "sidecars.io/creating";

    /// <summary>Annotation with the caller's request_id of the create that made the pod (when it gave one).</summary>
    public const string RequestId = "sidecars.io/request-id";

    /// <summary>Label on a token Secret naming its pod.</summary>
    public const string TokensFor = "sidecars.io/tokens-for";

    /// <summary>Selects every pod created through the API.</summary>
    public const string PodSelector = SidecarsLabels.ManagedBy + "=" + SidecarsLabels.ManagedByValue + "," + SidecarsLabels.User;

    public static string TokenSecretName(string podName) => podName + "-tokens";
}
