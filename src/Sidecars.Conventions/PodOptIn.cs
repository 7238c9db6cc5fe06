namespace Sidecars.Conventions;

/// <summary>
/// How a tool that creates pods (<c>sidecarsctl app start</c>, the user-pods API) makes sure the webhook injects them
/// whatever their namespace's label says: the pod opts in by <see cref="SidecarsAnnotations.Inject"/>, or the tool
/// refuses with the reason.
/// </summary>
public static class PodOptIn
{
    /// <summary>
    /// Sets <see cref="SidecarsAnnotations.Inject"/> to <c>true</c> on a pod (or pod template). A pod that opts out
    /// explicitly keeps its choice unless it asks for something only injection gives (a blessing, tokens, a network,
    /// settings); then the answer is the reason to refuse it. Null when the pod may be created as it now is.
    /// </summary>
    public static string? Apply(IDictionary<string, string> annotations, IReadOnlyDictionary<string, string>? labels)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        if (annotations.TryGetValue(SidecarsAnnotations.Inject, out var value) && string.Equals(value, "false", StringComparison.OrdinalIgnoreCase))
        {
            var needs = NeedsInjection(annotations, labels);
            return needs.Count == 0
                ? null
                : $"the pod opts out of injection ({SidecarsAnnotations.Inject}: \"false\") but asks for what only injection gives " +
                  $"({string.Join(", ", needs)}); remove the opt-out or those keys";
        }

        annotations[SidecarsAnnotations.Inject] = "true";
        return null;
    }

    /// <summary>
    /// Why pods in a namespace with these labels can never be injected, or null. A namespace labelled
    /// <see cref="SidecarsLabels.NamespaceInjection"/>=<see cref="SidecarsLabels.NamespaceInjectionDisabled"/> is never
    /// sent to the webhook, so a pod's own opt-in cannot help there.
    /// </summary>
    public static string? NamespaceRefusal(string @namespace, IReadOnlyDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue(SidecarsLabels.NamespaceInjection, out var value) && value == SidecarsLabels.NamespaceInjectionDisabled
            ? $"namespace {@namespace} is labelled {SidecarsLabels.NamespaceInjection}={SidecarsLabels.NamespaceInjectionDisabled}: " +
              "the webhook never sees its pods, so they would run without their sidecars; remove the label or use another namespace"
            : null;

    /// <summary>The keys on a pod that only the webhook acts on.</summary>
    public static IReadOnlyList<string> NeedsInjection(IDictionary<string, string> annotations, IReadOnlyDictionary<string, string>? labels)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        var needs = new List<string>();
        foreach (var key in new[] { SidecarsAnnotations.Blessing, SidecarsAnnotations.CopyToken, SidecarsAnnotations.Settings })
        {
            if (annotations.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v))
            {
                needs.Add($"annotation {key}");
            }
        }

        if (labels is not null && labels.TryGetValue(SidecarsLabels.NetworkId, out var network) && !string.IsNullOrWhiteSpace(network))
        {
            needs.Add($"label {SidecarsLabels.NetworkId}");
        }

        return needs;
    }
}
