using k8s;
using k8s.Models;
using Sidecars.Mutation;

namespace Sidecars.UserPods.Manifests;

/// <summary>Parses a (multi-document) YAML manifest into a <see cref="UserPodManifest"/>, explaining what is wrong.</summary>
public static class ManifestParser
{
    public static UserPodManifest Parse(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        IReadOnlyList<IKubernetesObject> objects;
        try
        {
            objects = KubernetesObjects.ReadAll(yaml);
        }
        catch (FormatException e)
        {
            throw Invalid($"not valid Kubernetes YAML: {e.Message}");
        }

        V1Pod? pod = null;
        V1Service? service = null;
        V1Ingress? ingress = null;
        foreach (var obj in objects)
        {
            switch (obj)
            {
                case null:
                    continue;
                case V1Pod p when pod is null:
                    pod = p;
                    break;
                case V1Service s when service is null:
                    service = s;
                    break;
                case V1Ingress i when ingress is null:
                    ingress = i;
                    break;
                case V1Pod or V1Service or V1Ingress:
                    throw Invalid($"more than one {obj.Kind}; a manifest holds one Pod and at most one Service and one Ingress");
                default:
                    throw Invalid($"kind {obj.ApiVersion}/{obj.Kind} is not supported; a manifest holds one Pod and at most one Service and one Ingress");
            }
        }

        if (pod is null)
        {
            throw Invalid("it has no Pod");
        }

        ValidatePod(pod);
        if (ingress is not null && service is null)
        {
            throw Invalid("its Ingress needs a Service in the same manifest");
        }

        if (service is not null && (service.Spec?.Ports is not { Count: > 0 }))
        {
            throw Invalid("its Service has no ports");
        }

        return new UserPodManifest(pod, service, ingress);
    }

    private static void ValidatePod(V1Pod pod)
    {
        if (string.IsNullOrEmpty(pod.Metadata?.Name) && string.IsNullOrEmpty(pod.Metadata?.GenerateName))
        {
            throw Invalid("its Pod has neither metadata.name nor metadata.generateName");
        }

        if (pod.Spec?.Containers is not { Count: > 0 } containers)
        {
            throw Invalid("its Pod has no containers");
        }

        foreach (var container in containers)
        {
            if (string.IsNullOrEmpty(container.Name) || string.IsNullOrEmpty(container.Image))
            {
                throw Invalid("every container needs a name and an image");
            }
        }
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private static UserPodsException Invalid(string reason) => new(UserPodsError.InvalidArgument, "invalid manifest: " + reason);
}
