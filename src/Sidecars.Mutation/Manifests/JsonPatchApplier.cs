using System.Globalization;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation;

/// <summary>
/// Applies RFC 6902 <c>add</c>, <c>replace</c> and <c>remove</c> operations to a <see cref="JsonNode"/> tree in
/// place (the operations the engine emits); values are copied so a patch can be applied more than once.
/// </summary>
public static class JsonPatchApplier
{
    /// <summary>Applies the operations in order and returns the (possibly replaced) root.</summary>
    /// <exception cref="JsonPatchException">A path does not exist or an operation is unsupported.</exception>
    public static JsonNode? Apply(JsonNode? document, IEnumerable<JsonPatchOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        foreach (var operation in operations)
        {
            document = ApplyOne(document, operation);
        }

        return document;
    }

    private static JsonNode? ApplyOne(JsonNode? document, JsonPatchOperation operation)
    {
        IReadOnlyList<string> tokens;
        try
        {
            tokens = JsonPointer.Parse(operation.Path);
        }
        catch (FormatException e)
        {
            throw new JsonPatchException(e.Message);
        }

        var value = operation.Value?.DeepClone();
        if (tokens.Count == 0)
        {
            return operation.Op switch
            {
                "add" or "replace" => value,
                "remove" => null,
                _ => throw new JsonPatchException($"unsupported op '{operation.Op}'"),
            };
        }

        var parent = Resolve(document, tokens, tokens.Count - 1, operation.Path);
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject map:
                ApplyToObject(map, last, operation, value);
                break;
            case JsonArray array:
                ApplyToArray(array, last, operation, value);
                break;
            default:
                throw new JsonPatchException($"{operation.Op} {operation.Path}: parent is not an object or array");
        }

        return document;
    }

    private static void ApplyToObject(JsonObject map, string key, JsonPatchOperation operation, JsonNode? value)
    {
        switch (operation.Op)
        {
            case "add":
                map[key] = value;
                break;
            case "replace" when map.ContainsKey(key):
                map[key] = value;
                break;
            case "remove" when map.ContainsKey(key):
                map.Remove(key);
                break;
            case "replace" or "remove":
                throw new JsonPatchException($"{operation.Op} {operation.Path}: no member '{key}'");
            default:
                throw new JsonPatchException($"unsupported op '{operation.Op}'");
        }
    }

    private static void ApplyToArray(JsonArray array, string token, JsonPatchOperation operation, JsonNode? value)
    {
        if (operation.Op == "add" && token == "-")
        {
            array.Add(value);
            return;
        }

        if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || index > array.Count || (index == array.Count && operation.Op != "add"))
        {
            throw new JsonPatchException($"{operation.Op} {operation.Path}: index '{token}' out of range");
        }

        switch (operation.Op)
        {
            case "add":
                array.Insert(index, value);
                break;
            case "replace":
                array[index] = value;
                break;
            case "remove":
                array.RemoveAt(index);
                break;
            default:
                throw new JsonPatchException($"unsupported op '{operation.Op}'");
        }
    }

    private static JsonNode Resolve(JsonNode? node, IReadOnlyList<string> tokens, int count, string path)
    {
        for (var i = 0; i < count; i++)
        {
            var token = tokens[i];
            node = node switch
            {
                JsonObject map when map.TryGetPropertyValue(token, out var child) => child,
                JsonArray array when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < array.Count => array[index],
                _ => throw new JsonPatchException($"path {path}: '{token}' does not exist"),
            };
        }

        return node ?? throw new JsonPatchException($"path {path}: parent is null");
    }
}
