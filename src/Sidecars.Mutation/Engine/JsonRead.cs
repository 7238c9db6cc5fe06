using System.Text.Json;

namespace Sidecars.Mutation;

/// <summary>Tolerant reads over admitted objects: a missing, null or mistyped member reads as absent, never throws.</summary>
internal static class JsonRead
{
    public static JsonElement? Member(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    public static JsonElement? Member(this JsonElement? element, string name) => element is { } e ? e.Member(name) : null;

    public static JsonElement? Object(this JsonElement? element, string name) =>
        element.Member(name) is { ValueKind: JsonValueKind.Object } value ? value : null;

    public static JsonElement? Array(this JsonElement? element, string name) =>
        element.Member(name) is { ValueKind: JsonValueKind.Array } value ? value : null;

    public static string? String(this JsonElement? element, string name) =>
        element.Member(name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    public static string? String(this JsonElement element, string name) => ((JsonElement?)element).String(name);

    /// <summary>Finds the item of an array of objects whose <paramref name="key"/> member equals <paramref name="value"/>.</summary>
    public static int IndexOf(this JsonElement? array, string key, string value)
    {
        if (array is not { ValueKind: JsonValueKind.Array } items)
        {
            return -1;
        }

        var index = 0;
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty(key, out var name)
                && name.ValueKind == JsonValueKind.String && name.ValueEquals(value))
            {
                return index;
            }

            index++;
        }

        return -1;
    }

    public static JsonElement Item(this JsonElement array, int index) => array[index];
}
