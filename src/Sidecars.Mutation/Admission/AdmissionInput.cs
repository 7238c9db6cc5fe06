using System.Text.Json;

namespace Sidecars.Mutation;

/// <summary>What the engine needs from one AdmissionReview request, plus the namespace's labels (looked up by the host).</summary>
public sealed record AdmissionInput
{
    public required string Uid { get; init; }

    public required GroupVersionKind Kind { get; init; }

    /// <summary>Resource name, e.g. <c>pods</c>.</summary>
    public string? Resource { get; init; }

    /// <summary>Subresource, e.g. <c>status</c> or <c>ephemeralcontainers</c>; such requests are never mutated.</summary>
    public string? SubResource { get; init; }

    /// <summary>CREATE, UPDATE, DELETE or CONNECT.</summary>
    public required string Operation { get; init; }

    /// <summary><c>request.namespace</c>: the only reliable namespace (pods of controllers have no metadata.namespace).</summary>
    public required string Namespace { get; init; }

    /// <summary><c>request.name</c>; empty for objects named by generateName.</summary>
    public string? Name { get; init; }

    public required string UserName { get; init; }

    public IReadOnlyList<string> UserGroups { get; init; } = [];

    public bool DryRun { get; init; }

    /// <summary>The object as admitted (JSON null for DELETE).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "Mirrors request.object of the AdmissionReview.")]
    public required JsonElement Object { get; init; }

    /// <summary>The stored object for UPDATE and DELETE.</summary>
    public JsonElement? OldObject { get; init; }

    /// <summary>Labels of the request's namespace; null when unknown.</summary>
    public IReadOnlyDictionary<string, string>? NamespaceLabels { get; init; }
}
