using System.Text;

namespace Sidecars.LocalCluster;

/// <summary>Kubernetes' <c>$(VAR)</c> expansion in env values, command and args (<c>$$</c> escapes, unknown names stay).</summary>
public static class EnvironmentExpansion
{
    public static string Expand(string input, IReadOnlyDictionary<string, string> variables)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(variables);
        if (!input.Contains('$', StringComparison.Ordinal))
        {
            return input;
        }

        var output = new StringBuilder(input.Length);
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] != '$' || i + 1 >= input.Length)
            {
                output.Append(input[i]);
                continue;
            }

            var next = input[i + 1];
            if (next == '$')
            {
                output.Append('$');
                i++;
            }
            else if (next == '(' && input.IndexOf(')', i + 2) is var close and > 0)
            {
                var name = input[(i + 2)..close];
                if (variables.TryGetValue(name, out var value))
                {
                    output.Append(value);
                }
                else
                {
                    output.Append(input, i, close - i + 1);
                }

                i = close;
            }
            else
            {
                output.Append('$');
            }
        }

        return output.ToString();
    }
}
