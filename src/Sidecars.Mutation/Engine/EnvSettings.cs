using System.Text.Json;

namespace Sidecars.Mutation;

/// <summary>Reads the settings annotation <c>{"container": {"VAR": "value"}}</c>; numbers and booleans become strings.</summary>
internal static class EnvSettings
{
    /// <summary>Returns null when the annotation is unusable as a whole; otherwise the usable entries, with problems for the rest.</summary>
    public static List<(string Container, List<(string Name, string Value)> Variables)>? Parse(string text, out List<string> problems)
    {
        problems = [];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            problems.Add("not valid JSON (" + FirstLine(e.Message) + ")");
            return null;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                problems.Add("expected an object {container: {VAR: value}}");
                return null;
            }

            var result = new List<(string, List<(string, string)>)>();
            foreach (var container in document.RootElement.EnumerateObject())
            {
                if (container.Value.ValueKind != JsonValueKind.Object)
                {
                    problems.Add($"{container.Name}: expected an object of variables");
                    continue;
                }

                var variables = new List<(string, string)>();
                foreach (var variable in container.Value.EnumerateObject())
                {
                    if (variable.Name.Length == 0 || variable.Name.Contains('=', StringComparison.Ordinal))
                    {
                        problems.Add($"{container.Name}: invalid variable name '{variable.Name}'");
                        continue;
                    }

                    var value = variable.Value.ValueKind switch
                    {
                        JsonValueKind.String => variable.Value.GetString(),
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => variable.Value.GetRawText(),
                        _ => null,
                    };
                    if (value is null)
                    {
                        problems.Add($"{container.Name}/{variable.Name}: value must be a string");
                        continue;
                    }

                    variables.Add((variable.Name, value));
                }

                result.Add((container.Name, variables));
            }

            return result;
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('.', StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
