namespace Sidecars.Conventions;

/// <summary>Label keys read or written by Sidecars.</summary>
public static class SidecarsLabels
{
    /// <summary>Namespace label that opts every pod in the namespace in (value <c>enabled</c>).</summary>
    public const string NamespaceInjection = "sidecars.io/injection";
    public const string NamespaceInjectionEnabled = "enabled";

    /// <summary>Namespace label value that keeps every pod in the namespace away from the webhook, even one that opts in.</summary>
    public const string NamespaceInjectionDisabled = "disabled";

    /// <summary>Sanitised owner (a valid label value); the full name is in <see cref="SidecarsAnnotations.Owner"/>.</summary>
    public const string Owner = "sidecars.io/owner";

    /// <summary>Sanitised user_id of a user-pods API pod; the full value is in <see cref="SidecarsAnnotations.User"/>.</summary>
    public const string User = "sidecars.io/user";

    /// <summary>Set to "true" when the pod-agent sidecar was injected.</summary>
    public const string PodAgent = "sidecars.io/pod-agent";

    /// <summary>Set to "true" when the lightpeer sidecar was injected.</summary>
    public const string Lightpeer = "sidecars.io/lightpeer";

    /// <summary>The peer network a pod's lightpeer joins.</summary>
    public const string NetworkId = "klight.networkId";

    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "sidecars";

    /// <summary>Names the cluster (Deployment managed by the cluster agent) an object belongs to.</summary>
    public const string Cluster = "sidecars.io/cluster";
}
