namespace Sidecars.Kubernetes;

/// <summary>How the process reaches Kubernetes (configuration section <c>Sidecars:Kubernetes</c>).</summary>
public sealed class KubernetesOptions
{
    public const string Section = "Sidecars:Kubernetes";

    /// <summary>Kubeconfig file; when empty, the in-cluster configuration, else $KUBECONFIG or ~/.kube/config.</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>Kubeconfig context; the current context when empty.</summary>
    public string? Context { get; set; }

    /// <summary>
    /// How long the apiserver keeps each watch open before it ends it (the informers then resume from the last
    /// resourceVersion they saw, and relist when it is too old). Between 1 s and 1 h; 5 min by default.
    /// </summary>
    public TimeSpan WatchTimeout { get; set; } = KubernetesResourceSources.DefaultWatchTimeout;
}
