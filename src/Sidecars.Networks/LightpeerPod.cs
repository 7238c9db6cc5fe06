using System.Globalization;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Kubernetes;

namespace Sidecars.Networks;

/// <summary>What the controller needs to know about one pod of a peer network. Pure view of a V1Pod.</summary>
public sealed record LightpeerPod(string Network, string Namespace, string Name, string Uid, string? Address, bool Ready, bool Gone)
{
    private const string LegacyPortName = "klightPort";

    public string Key => Namespace + "/" + Name;

    /// <summary>Ready with an address: should be a member.</summary>
    public bool Joinable => Ready && !Gone && Address is not null;

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
        return new LightpeerPod(network, pod.Metadata.NamespaceProperty ?? string.Empty, pod.Metadata.Name, pod.Metadata.Uid ?? string.Empty, address, ready, gone);
    }

    /// <summary>
    /// The lightpeer's container port by name (the injected <c>klight-port</c>, or <c>klightPort</c> as older
    /// manifests spell it), else the default lightpeer port.
    /// </summary>
    public static int Port(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return pod.Spec?.Containers?
            .SelectMany(c => c.Ports ?? [])
            .FirstOrDefault(p => p.Name == SidecarsNames.LightpeerPortName || p.Name == LegacyPortName)?.ContainerPort
            ?? SidecarsNames.LightpeerDefaultPort;
    }
}
