using Sidecars.Kubernetes;

namespace Sidecars.Cli.Configuration;

/// <summary>The cluster the commands talk to: the settings file's kubeconfig and context, else the usual defaults.</summary>
internal static class CliKubernetes
{
    public static k8s.Kubernetes Client()
    {
        var config = CliConfig.Load();
        return new k8s.Kubernetes(KubernetesClientConfig.Build(config["kubeconfig"], config["context"]));
    }

    /// <summary>The settings file's namespace, else <c>default</c>.</summary>
    public static string Namespace() => CliConfig.Load()["namespace"] ?? "default";
}
