using k8s;
using Microsoft.Extensions.DependencyInjection;

namespace Sidecars.UserPods.Pods;

/// <summary>
/// The shared Kubernetes client, resolved on first use so the cluster agent still starts (and its other capabilities
/// still work) where no Kubernetes configuration exists; user-pods calls then fail as Unavailable.
/// </summary>
public sealed class KubernetesAccess(IServiceProvider services)
{
    private readonly Lazy<IKubernetes?> _client = new(() =>
    {
        try
        {
            return services.GetRequiredService<IKubernetes>();
        }
        catch (Exception e) when (e is InvalidOperationException or k8s.Exceptions.KubeConfigException or IOException)
        {
            return null;
        }
    });

    public IKubernetes Client => _client.Value
        ?? throw new UserPodsException(UserPodsError.Unavailable, "user pods are unavailable: no Kubernetes configuration was found");
}
