using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Sidecars.Mutation;

/// <summary>
/// The <c>sidecars.io/injected</c> annotation: stable names of everything the webhook put in or rewrote in a pod,
/// merged with any record already present so a reinvocation writes the same value. Serialised with sorted keys
/// and items, e.g. <c>{"containers":["sidecars-pod-agent"],"env":["app/SIDECARS_AGENT_SOCKET"],"images":["app"],
/// "pullSecrets":["regcred"],"volumes":["sidecars-socket"]}</c>.
/// </summary>
internal sealed class InjectionRecord
{
    private static readonly string[] Sections = ["containers", "env", "images", "pullSecrets", "volumes"];
    private readonly Dictionary<string, SortedSet<string>> _sections = new(StringComparer.Ordinal);

    public void Add(string section, string item)
    {
        if (!_sections.TryGetValue(section, out var items))
        {
            _sections[section] = items = new SortedSet<string>(StringComparer.Ordinal);
        }

        items.Add(item);
    }

    /// <summary>Merges a previous record; an unreadable one is ignored (it is rewritten).</summary>
    public void Merge(string? previous)
    {
        if (string.IsNullOrEmpty(previous))
        {
            return;
        }

        try
        {
            using var document = JsonDocument.Parse(previous);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            foreach (var section in document.RootElement.EnumerateObject())
            {
                if (section.Value.ValueKind != JsonValueKind.Array || Array.IndexOf(Sections, section.Name) < 0)
                {
                    continue;
                }

                foreach (var item in section.Value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        Add(section.Name, item.GetString()!);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not ours or damaged: the new record replaces it.
        }
    }

    public bool IsEmpty => _sections.Count == 0;

    public override string ToString()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var section in Sections)
            {
                if (_sections.TryGetValue(section, out var items))
                {
                    writer.WriteStartArray(section);
                    foreach (var item in items)
                    {
                        writer.WriteStringValue(item);
                    }

                    writer.WriteEndArray();
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
