using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sidecars.UserPods.Configuration;

/// <summary>Flattens a YAML document into configuration keys (<c>a:b:0:c</c>), as the JSON provider does.</summary>
public sealed class YamlConfigurationProvider(YamlConfigurationSource source) : FileConfigurationProvider(source)
{
    public override void Load(Stream stream)
    {
        var source = (YamlConfigurationSource)Source;
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in Parse(stream, Source.Path ?? "configuration"))
        {
            var (name, mapped) = source.Map?.Invoke(key, value) ?? new(key, value);
            data[source.Prefix is null ? name : ConfigurationPath.Combine(source.Prefix, name)] = mapped;
        }

        Data = data;
    }

    /// <summary>Parses YAML text into flat configuration keys; a bad file gives a <see cref="FormatException"/> naming the line.</summary>
    public static Dictionary<string, string?> Parse(Stream stream, string description)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(stream);
            yaml.Load(reader);
        }
        catch (YamlException e)
        {
            throw new FormatException($"{description}: invalid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }

        if (yaml.Documents.Count == 0)
        {
            return data;
        }

        if (yaml.Documents.Count > 1)
        {
            throw new FormatException($"{description}: expected one YAML document, found {yaml.Documents.Count}");
        }

        var root = yaml.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return data;
        }

        if (root is not YamlMappingNode)
        {
            throw new FormatException($"{description}: the top level must be a mapping of keys to values");
        }

        Visit(root, null, data, description);
        return data;
    }

    private static void Visit(YamlNode node, string? path, Dictionary<string, string?> data, string description)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { Length: > 0 } name })
                    {
                        throw new FormatException($"{description}: line {key.Start.Line}: keys must be plain text");
                    }

                    Visit(value, path is null ? name : ConfigurationPath.Combine(path, name), data, description);
                }

                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    Visit(sequence.Children[i], ConfigurationPath.Combine(path ?? string.Empty, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), data, description);
                }

                break;
            case YamlScalarNode scalar when path is not null:
                if (data.ContainsKey(path))
                {
                    throw new FormatException($"{description}: line {scalar.Start.Line}: key '{path}' appears twice");
                }

                data[path] = scalar.Style == ScalarStyle.Plain && scalar.Value is "~" or "null" ? null : scalar.Value;
                break;
            default:
                throw new FormatException($"{description}: line {node.Start.Line}: unsupported YAML node");
        }
    }
}

public sealed class YamlConfigurationSource : FileConfigurationSource
{
    /// <summary>Section the file's keys go under (<c>Sidecars:UserPods</c>); none puts them at the top.</summary>
    public string? Prefix { get; init; }

    /// <summary>Renames a key or rewrites its value before it is stored (older key names).</summary>
    public Func<string, string?, KeyValuePair<string, string?>>? Map { get; init; }

    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new YamlConfigurationProvider(this);
    }
}
