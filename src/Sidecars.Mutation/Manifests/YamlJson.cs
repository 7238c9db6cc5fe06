using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sidecars.Mutation;

/// <summary>Converts between (multi-document) YAML or JSON manifests and <see cref="JsonNode"/> trees.</summary>
public static partial class YamlJson
{
    /// <summary>Reads every non-empty document; a JSON text is read as one document.</summary>
    /// <exception cref="FormatException">The text is neither valid YAML nor valid JSON.</exception>
    public static IReadOnlyList<JsonNode> ReadDocuments(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            try
            {
                return JsonNode.Parse(text) is { } node ? [node] : [];
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new FormatException("invalid JSON manifest: " + e.Message, e);
            }
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new FormatException($"invalid YAML manifest at line {e.Start.Line}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException("invalid YAML manifest: " + e.Message, e);
        }

        var documents = new List<JsonNode>();
        foreach (var document in stream.Documents)
        {
            if (Convert(document.RootNode) is { } node)
            {
                documents.Add(node);
            }
        }

        return documents;
    }

    /// <summary>Writes documents as YAML separated by <c>---</c>.</summary>
    public static string WriteDocuments(IEnumerable<JsonNode?> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return string.Join("---\n", documents.Select(WriteDocument));
    }

    private static string WriteDocument(JsonNode? document)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        new YamlStream(new YamlDocument(ToYaml(document))).Save(writer, assignAnchors: false);
        var text = writer.ToString().ReplaceLineEndings("\n");
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => ConvertMapping(mapping),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => ConvertScalar(scalar),
        _ => null,
    };

    private static JsonObject ConvertMapping(YamlMappingNode mapping)
    {
        var result = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            var name = key is YamlScalarNode scalar ? scalar.Value ?? "" : key.ToString();
            result[name] = Convert(value);
        }

        return result;
    }

    private static JsonValue? ConvertScalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            return JsonValue.Create(value);
        }

        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (value is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }

        if (value is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }

        if (Integer().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (Float().IsMatch(value) && decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(value);
    }

    private static YamlNode ToYaml(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return new YamlScalarNode("null") { Style = ScalarStyle.Plain };
            case JsonObject map:
                var mapping = new YamlMappingNode();
                foreach (var (key, value) in map)
                {
                    mapping.Add(StringScalar(key), ToYaml(value));
                }

                return mapping;
            case JsonArray array:
                return new YamlSequenceNode(array.Select(ToYaml));
            default:
                var element = node.AsValue();
                return element.GetValueKind() switch
                {
                    JsonValueKind.String => StringScalar(element.GetValue<string>()),
                    JsonValueKind.True => new YamlScalarNode("true") { Style = ScalarStyle.Plain },
                    JsonValueKind.False => new YamlScalarNode("false") { Style = ScalarStyle.Plain },
                    JsonValueKind.Number => new YamlScalarNode(element.ToJsonString()) { Style = ScalarStyle.Plain },
                    _ => new YamlScalarNode("null") { Style = ScalarStyle.Plain },
                };
        }
    }

    /// <summary>
    /// Plain only when no YAML 1.1 or 1.2 reader (kubectl reads 1.1, where yes/no/on/off are booleans and 1:20 is a
    /// number) could take the text for anything but a string; otherwise double-quoted.
    /// </summary>
    private static YamlScalarNode StringScalar(string value) => new(value)
    {
        Style = PlainSafe().IsMatch(value) && !Reserved().IsMatch(value) && !value.EndsWith(':') ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted,
    };

    [GeneratedRegex("^([A-Za-z_/]|--?[A-Za-z])[A-Za-z0-9_./@=+:-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainSafe();

    [GeneratedRegex("^(y|n|yes|no|on|off|true|false|null)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Reserved();

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Float();
}
