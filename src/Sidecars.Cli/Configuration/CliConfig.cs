using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sidecars.Cli.Configuration;

/// <summary>
/// sidecarsctl's settings file: how to reach the cluster agent and the cluster, so commands need no flags. A flag
/// wins over its environment variable, which wins over the file. The file is <c>$SIDECARSCTL_CONFIG</c>, else
/// <c>./sidecarsctl.json</c> when it exists, else <c>~/.config/sidecars/sidecarsctl.json</c>; it is written owner-only
/// because it may hold a token.
/// </summary>
internal sealed class CliConfig
{
    public const string PathVariable = "SIDECARSCTL_CONFIG";
    public const string LocalFileName = "sidecarsctl.json";

    /// <summary>The keys and what each is for.</summary>
    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["agent"] = "cluster agent gRPC URL (as --agent)",
        ["cert"] = "admin client certificate PEM file (as --cert)",
        ["key"] = "admin client key PEM file (as --key)",
        ["ca"] = "CA PEM file of the cluster agent's TLS certificate (as --ca)",
        ["token"] = "bearer ServiceAccount token for admin calls (as --token)",
        ["namespace"] = "default namespace of app and kubectl commands",
        ["kubeconfig"] = "kubeconfig file of the cluster",
        ["context"] = "kubeconfig context",
        ["agent-namespace"] = "namespace the cluster agent is installed in (stop-cluster-agent)",
    };

    private readonly SortedDictionary<string, string> _values;

    private CliConfig(string path, SortedDictionary<string, string> values)
    {
        Path = path;
        _values = values;
    }

    public string Path { get; }

    public IEnumerable<KeyValuePair<string, string>> Values => _values;

    public string? this[string key] => _values.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    public static string DefaultPath()
    {
        if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } fromEnvironment)
        {
            return System.IO.Path.GetFullPath(fromEnvironment);
        }

        var local = System.IO.Path.GetFullPath(LocalFileName);
        return File.Exists(local)
            ? local
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "sidecars", LocalFileName);
    }

    public static CliConfig Load(string? path = null)
    {
        path ??= DefaultPath();
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return new CliConfig(path, values);
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a JSON object: {e.Message}", e);
        }

        if (root is not JsonObject settings)
        {
            throw new InvalidDataException($"{path} is not a JSON object");
        }

        foreach (var (key, value) in settings)
        {
            if (!Keys.ContainsKey(key))
            {
                throw new InvalidDataException($"{path}: unknown key '{key}' (known: {string.Join(", ", Keys.Keys)})");
            }

            values[key] = value?.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value?.ToJsonString() ?? string.Empty;
        }

        return new CliConfig(path, values);
    }

    public void Set(string key, string? value)
    {
        if (!Keys.ContainsKey(key))
        {
            throw new InvalidDataException($"unknown key '{key}' (known: {string.Join(", ", Keys.Keys)})");
        }

        if (string.IsNullOrEmpty(value))
        {
            _values.Remove(key);
        }
        else
        {
            _values[key] = value;
        }
    }

    public void Save()
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory);
        var json = new JsonObject();
        foreach (var (key, value) in _values)
        {
            json[key] = value;
        }

        var temporary = Path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        File.Move(temporary, Path, overwrite: true);
    }
}
