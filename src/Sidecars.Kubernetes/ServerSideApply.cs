using k8s;
using k8s.Models;
using Sidecars.Conventions;

namespace Sidecars.Kubernetes;

/// <summary>
/// Creates or updates objects with one server-side apply request (field manager <see cref="FieldManager"/>): no
/// create-then-replace race, and fields other managers own are left to them.
/// </summary>
public static class ServerSideApply
{
    /// <summary>The field manager of every object Sidecars applies.</summary>
    public const string FieldManager = SidecarsLabels.ManagedByValue;

    public static Task<V1Secret> ApplyAsync(this IKubernetes client, V1Secret secret, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var (patch, name, ns) = Prepare(secret, "v1", V1Secret.KubeKind);
        return client.CoreV1.PatchNamespacedSecretAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: cancellationToken);
    }

    public static Task<V1Deployment> ApplyAsync(this IKubernetes client, V1Deployment deployment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var (patch, name, ns) = Prepare(deployment, "apps/v1", V1Deployment.KubeKind);
        return client.AppsV1.PatchNamespacedDeploymentAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: cancellationToken);
    }

    public static Task<V1ConfigMap> ApplyAsync(this IKubernetes client, V1ConfigMap configMap, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var (patch, name, ns) = Prepare(configMap, "v1", V1ConfigMap.KubeKind);
        return client.CoreV1.PatchNamespacedConfigMapAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: cancellationToken);
    }

    private static (V1Patch Patch, string Name, string Namespace) Prepare<T>(T item, string apiVersion, string kind)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Metadata?.Name is not { Length: > 0 } name || item.Metadata.NamespaceProperty is not { Length: > 0 } ns)
        {
            throw new ArgumentException($"a {kind} to apply needs metadata.name and metadata.namespace", nameof(item));
        }

        // An applied configuration names its type and carries no resourceVersion (that would make it a precondition).
        item.ApiVersion ??= apiVersion;
        item.Kind ??= kind;
        item.Metadata.ResourceVersion = null;
        return (new V1Patch(KubernetesSerialization.Serialize(item), V1Patch.PatchType.ApplyPatch), name, ns);
    }
}
