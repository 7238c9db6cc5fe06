using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>The downward-API field paths a container may reference (fieldRef).</summary>
internal static class FieldPaths
{
    public static string? Resolve(V1Pod pod, string fieldPath, string podIp)
    {
        ArgumentNullException.ThrowIfNull(fieldPath);
        return fieldPath switch
        {
            "metadata.name" => pod.Metadata.Name,
            "metadata.namespace" => pod.Metadata.NamespaceProperty,
            "metadata.uid" => pod.Metadata.Uid,
            "spec.nodeName" => pod.Spec.NodeName,
            "spec.serviceAccountName" => pod.Spec.ServiceAccountName,
            "status.hostIP" => "127.0.0.1",
            "status.podIP" or "status.podIPs" => podIp,
            _ when TryMapKey(fieldPath, "metadata.labels", out var key) => pod.Metadata.Labels?.TryGetValue(key, out var v) == true ? v : string.Empty,
            _ when TryMapKey(fieldPath, "metadata.annotations", out var key) => pod.Metadata.Annotations?.TryGetValue(key, out var v) == true ? v : string.Empty,
            _ => null,
        };
    }

    private static bool TryMapKey(string fieldPath, string prefix, out string key)
    {
        // metadata.labels['app.kubernetes.io/name']
        key = string.Empty;
        if (!fieldPath.StartsWith(prefix + "['", StringComparison.Ordinal) || !fieldPath.EndsWith("']", StringComparison.Ordinal))
        {
            return false;
        }

        key = fieldPath[(prefix.Length + 2)..^2];
        return true;
    }
}
