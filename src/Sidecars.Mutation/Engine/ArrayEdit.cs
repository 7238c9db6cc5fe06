using System.Text.Json;

namespace Sidecars.Mutation;

/// <summary>
/// Pending changes to one array of named objects (env, volumes, volumeMounts, containers, pull secrets).
/// Changes are keyed by name so setting the same item twice yields one operation; <see cref="Flush"/> emits
/// replacements first, then appends, then insertions at the front, and creates the array when it is missing.
/// </summary>
internal sealed class ArrayEdit(string path, JsonElement? existing, string key = "name")
{
    private readonly JsonElement? _existing = existing is { ValueKind: JsonValueKind.Array } ? existing : null;
    private SortedDictionary<int, PatchValue>? _replacements;
    private List<(string Key, PatchValue Node)>? _appends;
    private List<(string Key, PatchValue Node)>? _prepends;

    public string Path { get; } = path;

    public bool HasChanges => _replacements is not null || _appends is not null || _prepends is not null;

    public int IndexOf(string name) => _existing.IndexOf(key, name);

    public JsonElement? Existing(string name) => IndexOf(name) is >= 0 and var i ? _existing!.Value[i] : null;

    public bool Contains(string name) => IndexOf(name) >= 0 || PendingIndex(name) >= 0 ||
        (_prepends?.Exists(n => n.Key == name) ?? false);

    /// <summary>Replaces the existing item of that name, or appends (or replaces a pending append).</summary>
    public void Upsert(string name, PatchValue node)
    {
        var index = IndexOf(name);
        if (index >= 0)
        {
            (_replacements ??= [])[index] = node;
            return;
        }

        var pending = PendingIndex(name);
        if (pending >= 0)
        {
            _appends![pending] = (name, node);
            return;
        }

        (_appends ??= []).Add((name, node));
    }

    public void Replace(int index, PatchValue node) => (_replacements ??= [])[index] = node;

    /// <summary>Inserts at the front; several prepends keep the order they were made in.</summary>
    public void Prepend(string name, PatchValue node) => (_prepends ??= []).Add((name, node));

    public void Flush(PatchBuilder patch)
    {
        if (!HasChanges)
        {
            return;
        }

        if (_existing is null)
        {
            var items = new List<PatchValue>((_prepends?.Count ?? 0) + (_appends?.Count ?? 0));
            foreach (var (_, node) in _prepends ?? [])
            {
                items.Add(node);
            }

            foreach (var (_, node) in _appends ?? [])
            {
                items.Add(node);
            }

            patch.Add(Path, PatchValue.Array(items));
            return;
        }

        foreach (var (index, node) in _replacements ?? [])
        {
            patch.Replace(Path + "/" + index.ToString(System.Globalization.CultureInfo.InvariantCulture), node);
        }

        foreach (var (_, node) in _appends ?? [])
        {
            patch.Add(Path + "/-", node);
        }

        if (_prepends is not null)
        {
            for (var i = _prepends.Count - 1; i >= 0; i--)
            {
                patch.Add(Path + "/0", _prepends[i].Node);
            }
        }
    }

    private int PendingIndex(string name)
    {
        for (var i = 0; i < (_appends?.Count ?? 0); i++)
        {
            if (_appends![i].Key == name)
            {
                return i;
            }
        }

        return -1;
    }
}
