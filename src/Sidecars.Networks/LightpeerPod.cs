using System.Globalization;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Kubernetes;

namespace Sidecars.Networks;

/// <summary>
/// What the controller needs to know about one pod of a peer network. Pure view of a V1Pod. <see cref="Recorded"/> is
/// the membership the leading replica recorded on the pod (<see cref="NetworkMemberRecord"/>), null when none.
/// <see cref="Tls"/>: the pod mounts the Secret <see cref="SidecarsNames.LightpeerIdentitySecret"/>, so its lightpeer
/// serves mutual TLS and the controller calls it with its own certificate.
/// <see cref="ReadyOnceMember"/>: the pod runs the injected lightpeer (<see cref="SidecarsNames.LightpeerContainer"/>),
/// which is Ready only once it is in a network, so the pod is joined as soon as that container runs
/// (<see cref="Started"/>); a pod with its own lightpeer is joined once Ready, as its readiness says it answers.
/// </summary>
public sealed record LightpeerPod(
    string Network, string Namespace, string Name, string Uid, string? Address, bool Ready, bool Gone, NetworkMember? Recorded = null, bool Tls = false,
    bool ReadyOnceMember = false, bool Started = false)
{
    public string Key => Namespace + "/" + Name;

    /// <summary>With an address, and Ready or running the injected lightpeer: should be a member.</summary>
    public bool Joinable => (Ready || (ReadyOnceMember && Started)) && !Gone && Address is not null;

    /// <summary>Null when the pod carries no network id.</summary>
    public static LightpeerPod? From(V1Pod pod, bool deleted = false)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Metadata?.Labels is not { } labels || !labels.TryGetValue(SidecarsLabels.NetworkId, out var network) || string.IsNullOrEmpty(network))
        {
            return null;
        }

        var phase = pod.Status?.Phase;
        var gone = deleted || pod.Metadata.DeletionTimestamp is not null || phase is "Failed" or "Succeeded";
        var ready = KubernetesConditions.IsPodReady(pod);
        var ip = pod.Status?.PodIP;
        var port = Port(pod);
        var address = string.IsNullOrEmpty(ip) ? null
            : ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]:{port.ToString(CultureInfo.InvariantCulture)}"
            : $"{ip}:{port.ToString(CultureInfo.InvariantCulture)}";
        var ns = pod.Metadata.NamespaceProperty ?? string.Empty;
        var uid = pod.Metadata.Uid ?? string.Empty;
        var recorded = pod.Metadata.Annotations is { } annotations && annotations.TryGetValue(SidecarsAnnotations.NetworkMember, out var record)
            ? NetworkMemberRecord.Parse(record, network, ns, pod.Metadata.Name, uid)
            : null;
        var tls = pod.Spec?.Volumes?.Any(v => v.Secret?.SecretName == SidecarsNames.LightpeerIdentitySecret) == true;
        // As a native sidecar the injected lightpeer is an init container that keeps running.
        var injected = Containers(pod).Any(c => c.Name == SidecarsNames.LightpeerContainer);
        var started = (pod.Status?.ContainerStatuses ?? []).Concat(pod.Status?.InitContainerStatuses ?? [])
            .FirstOrDefault(c => c.Name == SidecarsNames.LightpeerContainer) is { } peer
            && peer.State?.Running is not null && peer.Started != false;
        return new LightpeerPod(network, ns, pod.Metadata.Name, uid, address, ready, gone, recorded, tls, injected, started);
    }

    private static IEnumerable<V1Container> Containers(V1Pod pod) => (pod.Spec?.Containers ?? []).Concat(pod.Spec?.InitContainers ?? []);

    /// <summary>
    /// The lightpeer's container port by name (the injected <c>klight-port</c>, or <c>klightPort</c> as older
    /// manifests spell it; on a container or, for a native sidecar, an init container), else the default lightpeer port.
    /// </summary>
    public static int Port(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return Containers(pod)
            .SelectMany(c => c.Ports ?? [])
            .FirstOrDefault(p => p.Name == SidecarsNames.LightpeerPortName || p.Name == SidecarsNames.LightpeerLegacyPortName)?.ContainerPort
            ?? SidecarsNames.LightpeerDefaultPort;
    }
}
