namespace Sidecars.Webhook.Admission;

/// <summary>Used without a cluster: only pod annotations opt pods in.</summary>
public sealed class NoNamespaceLabels : INamespaceLabelSource
{
    public ValueTask<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyDictionary<string, string>?>(null);
}
