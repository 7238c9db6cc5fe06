namespace Sidecars.Mutation;

/// <summary>Who applies a manifest and into what namespace, for offline injection.</summary>
public sealed record ManifestContext
{
    /// <summary>The user kubectl would authenticate as.</summary>
    public required string UserName { get; init; }

    /// <summary>Namespace of documents without metadata.namespace.</summary>
    public string DefaultNamespace { get; init; } = "default";

    /// <summary>Labels the target namespace is assumed to carry.</summary>
    public IReadOnlyDictionary<string, string> NamespaceLabels { get; init; } = new Dictionary<string, string>();
}
