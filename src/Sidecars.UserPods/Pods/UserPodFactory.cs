using System.Text.Json;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Manifests;

namespace Sidecars.UserPods.Pods;

/// <summary>Turns a user's manifest into the objects to create. Pure: no I/O.</summary>
internal static class UserPodFactory
{
    private const string LocalRegistry = "LOCALREGISTRY/";

    /// <summary>The pod to create, named by generateName from the manifest's name and the user, opted in to injection.</summary>
    public static V1Pod BuildPod(
        UserPodManifest manifest, string userId, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? settings,
        UserPodsOptions options, string instance, HomeServer? homeServer = null)
    {
        var pod = manifest.Pod;
        var meta = pod.Metadata ??= new V1ObjectMeta();
        var baseName = string.IsNullOrEmpty(meta.Name) ? meta.GenerateName!.TrimEnd('-') : meta.Name;
        meta.GenerateName = GenerateName(baseName, userId);
        meta.Name = null;
        meta.NamespaceProperty = options.Namespace;
        meta.ResourceVersion = null;
        meta.Uid = null;
        meta.OwnerReferences = null;

        var labels = meta.Labels ??= new Dictionary<string, string>();
        labels[SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue;
        labels[SidecarsLabels.User] = OwnerNames.ToLabelValue(userId);
        labels[UserPodKeys.Instance] = instance;

        var annotations = meta.Annotations ??= new Dictionary<string, string>();
        annotations[SidecarsAnnotations.User] = userId;
        annotations.Remove(UserPodKeys.ReadyAt);
        annotations.Remove(UserPodKeys.Ingress);
        annotations.Remove(UserPodKeys.Creating);
        if (manifest.Service is not null)
        {
            // Removed once the Service (and Ingress) exist; a pod left with it is deleted at its create deadline.
            annotations[UserPodKeys.Creating] = "true";
        }

        if (manifest.Ingress is not null)
        {
            annotations[UserPodKeys.Ingress] = "true";
        }

        if (settings is { Count: > 0 })
        {
            var names = pod.Spec.Containers.Select(c => c.Name).Concat(pod.Spec.InitContainers?.Select(c => c.Name) ?? []).ToHashSet(StringComparer.Ordinal);
            foreach (var container in settings.Keys.Where(c => !names.Contains(c)))
            {
                throw new UserPodsException(UserPodsError.InvalidArgument, $"settings name container '{container}', which the manifest does not have");
            }

            annotations[SidecarsAnnotations.Settings] = JsonSerializer.Serialize(settings);
        }

        pod.Spec.RestartPolicy ??= options.DefaultRestartPolicy;
        if (homeServer is not null)
        {
            // Before the settings: a value the request sets for a container still wins.
            foreach (var container in pod.Spec.Containers)
            {
                SetEnv(container, HomeServerHostnameEnv, homeServer.Hostname);
                SetEnv(container, HomeServerIpEnv, homeServer.Address);
            }
        }

        // The user-pods namespace need not be labelled: every pod opts in itself, or is refused.
        if (PodOptIn.Apply(annotations, labels as IReadOnlyDictionary<string, string>) is { } refused)
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, $"manifest {baseName}: {refused}");
        }

        RewriteRegistry(pod, options);
        PointStorage(pod, userId, options);
        return pod;
    }

    /// <summary>The manifest's Service, named after the created pod, selecting only it and owned by it.</summary>
    public static V1Service BuildService(V1Service manifest, V1Pod created)
    {
        var spec = manifest.Spec;
        spec.Selector = new Dictionary<string, string> { [UserPodKeys.Instance] = created.Metadata.Labels[UserPodKeys.Instance] };
        spec.ClusterIP = null;
        spec.ClusterIPs = null;
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = OwnedMetadata(manifest.Metadata, created),
            Spec = spec,
        };
    }

    /// <summary>The manifest's Ingress at <c>&lt;pod&gt;.&lt;ingressDomain&gt;</c>, routed to the pod's Service, with the wildcard TLS secret.</summary>
    public static V1Ingress BuildIngress(V1Ingress manifest, V1Service service, V1Pod created, UserPodsOptions options)
    {
        var host = Host(created.Metadata.Name, options);
        var firstPort = service.Spec.Ports[0];
        var paths = manifest.Spec?.Rules?.FirstOrDefault(r => r.Http?.Paths is { Count: > 0 })?.Http.Paths
                    ?? [new V1HTTPIngressPath { Path = "/", PathType = "Prefix" }];
        foreach (var path in paths)
        {
            var port = path.Backend?.Service?.Port;
            path.PathType ??= "Prefix";
            path.Backend = new V1IngressBackend
            {
                Service = new V1IngressServiceBackend
                {
                    Name = service.Metadata.Name,
                    Port = port is { Number: not null } or { Name.Length: > 0 } ? port : new V1ServiceBackendPort { Number = firstPort.Port },
                },
            };
        }

        var className = string.IsNullOrEmpty(options.IngressClassName) ? manifest.Spec?.IngressClassName : options.IngressClassName;
        return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "Ingress",
            Metadata = OwnedMetadata(manifest.Metadata, created),
            Spec = new V1IngressSpec
            {
                IngressClassName = className,
                Rules = [new V1IngressRule { Host = host, Http = new V1HTTPIngressRuleValue { Paths = paths } }],
                Tls = string.IsNullOrEmpty(options.IngressTlsSecret)
                    ? null
                    : [new V1IngressTLS { Hosts = [host], SecretName = options.IngressTlsSecret }],
            },
        };
    }

    /// <summary>Whether the pod mounts the user's storage volume.</summary>
    public static bool UsesStorage(V1Pod pod, UserPodsOptions options) => pod.Spec.Volumes?.Any(v => v.Name == options.StorageVolumeName) == true;

    /// <summary>The user's storage claim, named by the owner function.</summary>
    public static string ClaimName(string userId, UserPodsOptions options) => OwnerNames.ClaimName(options.StorageClaimTemplate, "{user}", userId);

    /// <summary>The user's NFS PersistentVolume (cluster-wide, so qualified by the namespace), pre-bound to the claim.</summary>
    public static V1PersistentVolume BuildStorageVolume(string userId, string server, UserPodsOptions options)
    {
        if (userId.Contains('/', StringComparison.Ordinal) || userId is "." or "..")
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, $"user_id '{userId}' cannot name a storage directory");
        }

        var claim = ClaimName(userId, options);
        return new V1PersistentVolume
        {
            ApiVersion = "v1",
            Kind = "PersistentVolume",
            Metadata = new V1ObjectMeta { Name = VolumeName(userId, options), Labels = StorageLabels(userId), Annotations = new Dictionary<string, string> { [SidecarsAnnotations.User] = userId } },
            Spec = new V1PersistentVolumeSpec
            {
                Capacity = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(options.StorageCapacity) },
                AccessModes = ["ReadWriteMany"],
                Nfs = new V1NFSVolumeSource { Server = server, Path = options.NfsStorageRoot.TrimEnd('/') + "/" + userId },
                // The data belongs to the silo: deleting the volume object never deletes a user's files.
                PersistentVolumeReclaimPolicy = "Retain",
                StorageClassName = string.Empty,
                ClaimRef = new V1ObjectReference { NamespaceProperty = options.Namespace, Name = claim },
            },
        };
    }

    /// <summary>The user's claim, bound to <see cref="BuildStorageVolume"/> by name.</summary>
    public static V1PersistentVolumeClaim BuildStorageClaim(string userId, UserPodsOptions options) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        Metadata = new V1ObjectMeta { Name = ClaimName(userId, options), NamespaceProperty = options.Namespace, Labels = StorageLabels(userId), Annotations = new Dictionary<string, string> { [SidecarsAnnotations.User] = userId } },
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteMany"],
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(options.StorageCapacity) } },
            StorageClassName = string.Empty,
            VolumeName = VolumeName(userId, options),
        },
    };

    public static string VolumeName(string userId, UserPodsOptions options) => options.Namespace + "-" + ClaimName(userId, options);

    /// <summary>Selects the objects (Services, storage) the API created for the user.</summary>
    public static string UserSelector(string userId) =>
        SidecarsLabels.ManagedBy + "=" + SidecarsLabels.ManagedByValue + "," + SidecarsLabels.User + "=" + OwnerNames.ToLabelValue(userId);

    public static string Host(string podName, UserPodsOptions options) => podName + "." + options.IngressDomain;

    /// <summary>Owner reference that lets the garbage collector delete an object with its pod.</summary>
    public static V1OwnerReference OwnerReference(V1Pod pod) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Name = pod.Metadata.Name,
        Uid = pod.Metadata.Uid,
        BlockOwnerDeletion = false,
        Controller = false,
    };

    /// <summary>
    /// generateName prefix: manifest name and user, a valid DNS label that starts with a letter (Service names
    /// need it) and leaves room for the 5 random characters and for the name to be one label of the Ingress host.
    /// </summary>
    internal static string GenerateName(string manifestName, string userId)
    {
        var name = string.IsNullOrEmpty(manifestName) ? "pod" : KubernetesNames.ToDnsLabel(manifestName, 30);
        var prefix = name + "-" + KubernetesNames.ToDnsLabel(userId, 24);
        if (prefix[0] is < 'a' or > 'z')
        {
            prefix = "p-" + prefix;
        }

        return prefix + "-";
    }

    private static V1ObjectMeta OwnedMetadata(V1ObjectMeta? manifest, V1Pod created) => new()
    {
        Name = created.Metadata.Name,
        NamespaceProperty = created.Metadata.NamespaceProperty,
        Labels = new Dictionary<string, string>(manifest?.Labels ?? new Dictionary<string, string>())
        {
            [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue,
            [SidecarsLabels.User] = created.Metadata.Labels[SidecarsLabels.User],
            [UserPodKeys.Instance] = created.Metadata.Labels[UserPodKeys.Instance],
        },
        Annotations = manifest?.Annotations,
        OwnerReferences = [OwnerReference(created)],
    };

    public const string HomeServerHostnameEnv = "HOME_SERVER_HOSTNAME";
    public const string HomeServerIpEnv = "HOME_SERVER_IP";

    private static Dictionary<string, string> StorageLabels(string userId) => new()
    {
        [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue,
        [SidecarsLabels.User] = OwnerNames.ToLabelValue(userId),
    };

    private static void SetEnv(V1Container container, string name, string value)
    {
        var env = container.Env ??= [];
        env.Remove(env.FirstOrDefault(e => e.Name == name)!);
        env.Add(new V1EnvVar { Name = name, Value = value });
    }

    private static void RewriteRegistry(V1Pod pod, UserPodsOptions options)
    {
        if (string.IsNullOrEmpty(options.RegistryUrl))
        {
            return;
        }

        foreach (var container in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
        {
            if (container.Image.StartsWith(LocalRegistry, StringComparison.Ordinal))
            {
                container.Image = options.RegistryUrl.TrimEnd('/') + "/" + container.Image[LocalRegistry.Length..];
            }
        }

        if (!string.IsNullOrEmpty(options.RegistryPullSecret))
        {
            var secrets = pod.Spec.ImagePullSecrets ??= [];
            if (!secrets.Any(s => s.Name == options.RegistryPullSecret))
            {
                secrets.Add(new V1LocalObjectReference { Name = options.RegistryPullSecret });
            }
        }
    }

    private static void PointStorage(V1Pod pod, string userId, UserPodsOptions options)
    {
        foreach (var volume in pod.Spec.Volumes?.Where(v => v.Name == options.StorageVolumeName) ?? [])
        {
            var claim = ClaimName(userId, options);
            volume.PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = claim };
            volume.EmptyDir = null;
            volume.HostPath = null;
            volume.Nfs = null;
        }
    }
}
