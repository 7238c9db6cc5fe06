using k8s;

namespace Sidecars.Kubernetes;

/// <summary>The one way a Sidecars process finds its Kubernetes client configuration.</summary>
public static class KubernetesClientConfig
{
    /// <summary>
    /// <paramref name="kubeconfigPath"/> when given; otherwise the in-cluster configuration inside a pod, else
    /// $KUBECONFIG or ~/.kube/config. <paramref name="context"/> picks a kubeconfig context (the current one when null).
    /// </summary>
    public static KubernetesClientConfiguration Build(string? kubeconfigPath = null, string? context = null) =>
        KubernetesSerialization.Complete(Find(kubeconfigPath, context));

    private static KubernetesClientConfiguration Find(string? kubeconfigPath, string? context)
    {
        if (!string.IsNullOrEmpty(kubeconfigPath))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfigPath, context);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        // The client's own default is ~/.kube/config only; $KUBECONFIG (a path list, as kubectl reads it) comes first.
        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG")?
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(File.Exists);
        return KubernetesClientConfiguration.BuildConfigFromConfigFile(fromEnvironment, context);
    }

    /// <summary>
    /// Like <see cref="Build"/>, but only from an explicit kubeconfig or inside a cluster: null otherwise, for a process
    /// that runs without Kubernetes unless told of one.
    /// </summary>
    public static KubernetesClientConfiguration? BuildExplicit(string? kubeconfigPath, string? context = null) =>
        FindExplicit(kubeconfigPath, context) is { } found ? KubernetesSerialization.Complete(found) : null;

    /// <summary>
    /// Like <see cref="BuildExplicit"/>, for a <see cref="KubernetesConnection"/> made without a client: the configuration
    /// as found, its serializer not completed (which would link the client's metadata for every kind).
    /// </summary>
    public static KubernetesClientConfiguration? FindExplicit(string? kubeconfigPath, string? context = null) =>
        !string.IsNullOrEmpty(kubeconfigPath) || KubernetesClientConfiguration.IsInCluster() ? Find(kubeconfigPath, context) : null;
}
