using k8s.Models;
using Sidecars.Conventions;

namespace Sidecars.Identity.Trust;

/// <summary>What to do with one namespace's <see cref="SidecarsNames.TrustBundleConfigMap"/>.</summary>
public enum TrustBundleAction
{
    /// <summary>It is as it should be (or nothing can be done now).</summary>
    None,

    /// <summary>Create it, or put back the bundle and labels that were changed.</summary>
    Apply,

    /// <summary>The namespace opted out (and runs no pod-agent): remove the ConfigMap this controller made.</summary>
    Delete,
}

/// <summary>The pure decision of the trust bundle controller for one namespace.</summary>
public static class TrustBundlePlanner
{
    /// <param name="namespace">The namespace as observed; null when it does not exist.</param>
    /// <param name="bundle">The CA bundle of the cluster agent's TLS Secret; null when the Secret or its key is missing.</param>
    /// <param name="current">The namespace's ConfigMap as observed; null when absent.</param>
    /// <param name="hasPodAgents">Pods of the namespace carry an injected pod-agent (opted in by annotation, or left from before).</param>
    public static TrustBundleAction Decide(V1Namespace? @namespace, string? bundle, V1ConfigMap? current, bool hasPodAgents)
    {
        if (@namespace is null || @namespace.Metadata?.DeletionTimestamp is not null || @namespace.Status?.Phase == "Terminating")
        {
            // Nothing can be created in a namespace being deleted, and its ConfigMaps go with it.
            return TrustBundleAction.None;
        }

        if (!Wants(@namespace, hasPodAgents))
        {
            return current is not null && IsManaged(current) ? TrustBundleAction.Delete : TrustBundleAction.None;
        }

        if (string.IsNullOrWhiteSpace(bundle))
        {
            // No bundle (yet): what the pods trust now stays until there is one to replace it.
            return TrustBundleAction.None;
        }

        return current is not null && IsManaged(current) && current.Data is { } data
            && data.TryGetValue(SidecarsNames.TrustBundleKey, out var present) && present == bundle
            ? TrustBundleAction.None
            : TrustBundleAction.Apply;
    }

    /// <summary>
    /// The namespace needs the bundle: it is labelled <c>sidecars.io/injection=enabled</c>, or it runs pods with an
    /// injected pod-agent (pods opted in by annotation) and is not labelled <c>disabled</c>.
    /// </summary>
    public static bool Wants(V1Namespace @namespace, bool hasPodAgents) =>
        IsOptedIn(@namespace) || (hasPodAgents && Label(@namespace) != SidecarsLabels.NamespaceInjectionDisabled);

    /// <summary>The namespace carries <c>sidecars.io/injection=enabled</c>, as the webhook's opted-in rule reads it.</summary>
    public static bool IsOptedIn(V1Namespace @namespace) => Label(@namespace) == SidecarsLabels.NamespaceInjectionEnabled;

    private static string? Label(V1Namespace @namespace) =>
        @namespace?.Metadata?.Labels is { } labels && labels.TryGetValue(SidecarsLabels.NamespaceInjection, out var value) ? value : null;

    /// <summary>The bundle as pods trust it: the Secret's <c>ca.crt</c>, or null when there is none.</summary>
    public static string? Bundle(V1Secret? secret) =>
        secret?.Data is { } data && data.TryGetValue(SidecarsNames.ClusterAgentCaKey, out var bytes) && bytes.Length > 0
            ? System.Text.Encoding.UTF8.GetString(bytes)
            : null;

    /// <summary>The ConfigMap this controller applies for <paramref name="namespace"/>.</summary>
    public static V1ConfigMap Desired(string @namespace, string bundle) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = SidecarsNames.TrustBundleConfigMap,
            NamespaceProperty = @namespace,
            Labels = new Dictionary<string, string> { [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue },
        },
        Data = new Dictionary<string, string> { [SidecarsNames.TrustBundleKey] = bundle },
    };

    private static bool IsManaged(V1ConfigMap configMap) =>
        configMap.Metadata?.Labels is { } labels
        && labels.TryGetValue(SidecarsLabels.ManagedBy, out var value) && value == SidecarsLabels.ManagedByValue;
}
