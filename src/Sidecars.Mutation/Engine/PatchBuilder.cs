using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation;

/// <summary>Collects JSON Patch operations in order and serialises them once.</summary>
internal sealed class PatchBuilder
{
    private const int MaxScratchBytes = 256 * 1024;

    /// <summary>A per-thread scratch buffer: serialising allocates only the returned array.</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    private readonly List<JsonPatchOperation> _operations = [];

    public int Count => _operations.Count;

    public IReadOnlyList<JsonPatchOperation> Operations => _operations;

    public void Add(string path, JsonNode? value) => _operations.Add(JsonPatchOperation.Add(path, value));

    public void Replace(string path, JsonNode? value) => _operations.Add(JsonPatchOperation.Replace(path, value));

    public static byte[] Serialize(IReadOnlyList<JsonPatchOperation> operations)
    {
        if (operations.Count == 0)
        {
            return [];
        }

        var buffer = t_scratch ?? new ArrayBufferWriter<byte>(8 * 1024);
        t_scratch = null;
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var operation in operations)
            {
                writer.WriteStartObject();
                writer.WriteString("op"u8, operation.Op);
                writer.WriteString("path"u8, operation.Path);
                if (operation.Op != "remove")
                {
                    writer.WritePropertyName("value"u8);
                    if (operation.Value is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        operation.Value.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        var result = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity <= MaxScratchBytes)
        {
            t_scratch = buffer;
        }

        return result;
    }

}
