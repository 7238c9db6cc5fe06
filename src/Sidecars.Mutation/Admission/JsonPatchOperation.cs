using System.Text.Json.Nodes;

namespace Sidecars.Mutation;

/// <summary>One RFC 6902 operation (<c>add</c>, <c>replace</c> or <c>remove</c>) with an escaped JSON Pointer path.</summary>
public sealed record JsonPatchOperation(string Op, string Path, JsonNode? Value)
{
    public static JsonPatchOperation Add(string path, JsonNode? value) => new("add", path, value);

    public static JsonPatchOperation Replace(string path, JsonNode? value) => new("replace", path, value);

    public static JsonPatchOperation Remove(string path) => new("remove", path, null);
}
