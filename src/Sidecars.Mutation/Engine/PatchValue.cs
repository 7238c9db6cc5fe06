using System.Text.Json;

namespace Sidecars.Mutation;

/// <summary>
/// The value of one patch operation, written straight into the serialised patch: a review builds no JSON tree, only
/// small objects that write what varies per pod around fragments serialised once per engine.
/// </summary>
internal abstract class PatchValue
{
    public abstract void WriteTo(Utf8JsonWriter writer);

    public static PatchValue String(string value) => new StringValue(value);

    /// <summary>JSON serialised beforehand (one value, compact, as <see cref="Utf8JsonWriter"/> writes it).</summary>
    public static PatchValue Raw(byte[] json) => new RawValue(json);

    /// <summary>A value written by <paramref name="write"/> from <paramref name="state"/> (use a static lambda).</summary>
    public static PatchValue Of<TState>(TState state, Action<Utf8JsonWriter, TState> write) => new WrittenValue<TState>(state, write);

    /// <summary><c>{"name":name,"value":value}</c>, an env variable.</summary>
    public static PatchValue Env(string name, string value) => new EnvValue(name, value);

    /// <summary><c>{"name":name}</c>.</summary>
    public static PatchValue Named(string name) => new NamedValue(name);

    public static PatchValue Array(IReadOnlyList<PatchValue> items) => new ArrayValue(items);

    /// <summary>An object of string members, in the order given.</summary>
    public static PatchValue Map(IReadOnlyList<KeyValuePair<string, string>> members) => new MapValue(members);

    /// <summary>Writes an env variable with a plain value.</summary>
    public static void WriteEnv(Utf8JsonWriter writer, string name, string value)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, name);
        writer.WriteString("value"u8, value);
        writer.WriteEndObject();
    }

    /// <summary>Serialises a value once, for a fragment shared by every review.</summary>
    public static byte[] Serialize(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class StringValue(string value) : PatchValue
    {
        public override void WriteTo(Utf8JsonWriter writer) => writer.WriteStringValue(value);
    }

    private sealed class RawValue(byte[] json) : PatchValue
    {
        public override void WriteTo(Utf8JsonWriter writer) => writer.WriteRawValue(json, skipInputValidation: true);
    }

    private sealed class WrittenValue<TState>(TState state, Action<Utf8JsonWriter, TState> write) : PatchValue
    {
        public override void WriteTo(Utf8JsonWriter writer) => write(writer, state);
    }

    private sealed class EnvValue(string name, string value) : PatchValue
    {
        public override void WriteTo(Utf8JsonWriter writer) => WriteEnv(writer, name, value);
    }

    private sealed class NamedValue(string name) : PatchValue
    {
        public override void WriteTo(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, name);
            writer.WriteEndObject();
        }
    }

    private sealed class ArrayValue(IReadOnlyList<PatchValue> items) : PatchValue
    {
        public override void WriteTo(Utf8JsonWriter writer)
        {
            writer.WriteStartArray();
            foreach (var item in items)
            {
                item.WriteTo(writer);
            }

            writer.WriteEndArray();
        }
    }

    private sealed class MapValue(IReadOnlyList<KeyValuePair<string, string>> members) : PatchValue
    {
        public override void WriteTo(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            foreach (var (key, value) in members)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }
    }
}
