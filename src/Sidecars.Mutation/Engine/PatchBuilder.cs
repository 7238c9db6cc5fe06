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

    private readonly List<(string Op, string Path, PatchValue Value)> _operations = [];

    public int Count => _operations.Count;

    public void Add(string path, PatchValue value) => _operations.Add(("add", path, value));

    public void Replace(string path, PatchValue value) => _operations.Add(("replace", path, value));

    /// <summary>The operations as a JSON array (UTF-8); empty when there are none.</summary>
    public byte[] Serialize()
    {
        var operations = _operations;
        return operations.Count == 0 ? [] : Write(operations, static (writer, operations) =>
        {
            foreach (var (op, path, value) in operations)
            {
                WriteOperation(writer, op, path, value, static (writer, value) => value.WriteTo(writer));
            }
        });
    }

    /// <summary>Serialises operations made elsewhere (a decision built by hand).</summary>
    public static byte[] Serialize(IReadOnlyList<JsonPatchOperation> operations) =>
        operations.Count == 0 ? [] : Write(operations, static (writer, operations) =>
        {
            foreach (var operation in operations)
            {
                WriteOperation(writer, operation.Op, operation.Path, operation.Value, static (writer, value) =>
                {
                    if (value is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        value.WriteTo(writer);
                    }
                });
            }
        });

    /// <summary>Reads a serialised patch back into operations (for callers that apply or inspect it).</summary>
    public static IReadOnlyList<JsonPatchOperation> Parse(ReadOnlyMemory<byte> json)
    {
        if (json.IsEmpty)
        {
            return [];
        }

        var operations = new List<JsonPatchOperation>();
        foreach (var item in JsonNode.Parse(json.Span)!.AsArray())
        {
            var operation = item!.AsObject();
            var value = operation["value"];
            operation.Remove("value");
            operations.Add(new JsonPatchOperation(operation["op"]!.GetValue<string>(), operation["path"]!.GetValue<string>(), value));
        }

        return operations;
    }

    private static void WriteOperation<TValue>(Utf8JsonWriter writer, string op, string path, TValue value, Action<Utf8JsonWriter, TValue> writeValue)
    {
        writer.WriteStartObject();
        writer.WriteString("op"u8, op);
        writer.WriteString("path"u8, path);
        if (op != "remove")
        {
            writer.WritePropertyName("value"u8);
            writeValue(writer, value);
        }

        writer.WriteEndObject();
    }

    private static byte[] Write<TState>(TState state, Action<Utf8JsonWriter, TState> writeOperations)
    {
        var buffer = t_scratch ?? new ArrayBufferWriter<byte>(8 * 1024);
        t_scratch = null;
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writeOperations(writer, state);
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
