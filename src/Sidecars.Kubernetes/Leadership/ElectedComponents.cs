namespace Sidecars.Kubernetes.Leadership;

/// <summary>What is elected: one Lease per component, each replica of it a candidate.</summary>
public static class ElectedComponents
{
    /// <summary>The cluster agent's controllers: the network controller and the user-pods lifecycle.</summary>
    public const string ClusterAgent = "cluster-agent";

    /// <summary>The webhook's certificate rotation and repair loop.</summary>
    public const string Webhook = "webhook";
}
