using System.Text.Json;

namespace Sidecars.Mutation;

/// <summary>Pending changes to a string map (labels, annotations); creates the map when it is missing.</summary>
internal sealed class MapEdit(string path, JsonElement? existing)
{
    private readonly JsonElement? _existing = existing is { ValueKind: JsonValueKind.Object } ? existing : null;
    private readonly List<KeyValuePair<string, string>> _changes = [];

    public string Path { get; } = path;

    public bool HasChanges => _changes.Count > 0;

    public string? Get(string key)
    {
        for (var i = _changes.Count - 1; i >= 0; i--)
        {
            if (_changes[i].Key == key)
            {
                return _changes[i].Value;
            }
        }

        return _existing.String(key);
    }

    /// <summary>Sets <paramref name="key"/>; returns false when it already had that value.</summary>
    public bool Set(string key, string value)
    {
        if (Get(key) == value)
        {
            return false;
        }

        for (var i = _changes.Count - 1; i >= 0; i--)
        {
            if (_changes[i].Key == key)
            {
                _changes.RemoveAt(i);
            }
        }

        _changes.Add(new(key, value));
        return true;
    }

    public void Flush(PatchBuilder patch)
    {
        if (_changes.Count == 0)
        {
            return;
        }

        if (_existing is null)
        {
            patch.Add(Path, PatchValue.Map(_changes));
            return;
        }

        foreach (var (key, value) in _changes)
        {
            var member = Path + "/" + JsonPointer.Escape(key);
            if (_existing.Value.TryGetProperty(key, out _))
            {
                patch.Replace(member, PatchValue.String(value));
            }
            else
            {
                patch.Add(member, PatchValue.String(value));
            }
        }
    }
}
