using Sidecars.Conventions;

namespace Sidecars.Mutation;

/// <summary>Parses the per-pod overrides <c>cpu=50m,memory=32Mi</c>.</summary>
internal static class ResourceOverrides
{
    public static bool TryParse(string text, out Dictionary<string, string> values, out string error)
    {
        values = new(StringComparer.Ordinal);
        error = "";
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? part[..eq].Trim() : "";
            var quantity = eq > 0 ? part[(eq + 1)..].Trim() : "";
            if (!KubernetesNames.IsResourceName(name) || !KubernetesNames.IsQuantity(quantity))
            {
                error = $"'{part}' is not resource=quantity";
                return false;
            }

            values[name] = quantity;
        }

        if (values.Count == 0)
        {
            error = "no resource=quantity pairs";
            return false;
        }

        return true;
    }
}
