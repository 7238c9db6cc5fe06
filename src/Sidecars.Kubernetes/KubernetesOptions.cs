namespace Sidecars.Kubernetes;

/// <summary>How the process reaches Kubernetes (configuration section <c>Sidecars:Kubernetes</c>).</summary>
public sealed class KubernetesOptions
{
    public const string Section = "Sidecars:Kubernetes";

    /// <summary>Kubeconfig file; when empty, the in-cluster configuration, else $KUBECONFIG or ~/.kube/config.</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>Kubeconfig context; the current context when empty.</summary>
    public string? Context { get; set; }
}
