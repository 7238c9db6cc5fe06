using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Sidecars.UserPods.Pods;

/// <summary>Checks and builds Kubernetes names and label values.</summary>
internal static partial class KubernetesNames
{
    public static bool IsDnsLabel(string? value) => value is { Length: > 0 and <= 63 } && DnsLabel().IsMatch(value);

    public static bool IsDnsSubdomain(string? value) =>
        value is { Length: > 0 and <= 253 } && value.Split('.').All(IsDnsLabel);

    /// <summary>
    /// A fragment usable in DNS labels: lowercase letters, digits and inner '-', at most <paramref name="max"/>
    /// characters; a short hash keeps distinct inputs distinct when characters had to be replaced or cut.
    /// </summary>
    public static string DnsFragment(string value, int max)
    {
        var cleaned = new StringBuilder(value.Length);
        foreach (var c in value.ToLowerInvariant())
        {
            cleaned.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-');
        }

        var text = Collapse(cleaned.ToString(), '-');
        if (text == value && text.Length <= max)
        {
            return text;
        }

        var hash = Hash(value, 6);
        var room = max - hash.Length - 1;
        text = text.Length > room ? text[..room].Trim('-') : text;
        return text.Length == 0 ? hash : text + "-" + hash;
    }

    /// <summary>A valid label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends) for any input.</summary>
    public static string LabelValue(string value)
    {
        var cleaned = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            cleaned.Append(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-' ? c : '_');
        }

        var text = cleaned.ToString().Trim('.', '_', '-');
        if (text == value && text.Length <= 63)
        {
            return text;
        }

        var hash = Hash(value, 8);
        text = text.Length > 54 ? text[..54].TrimEnd('.', '_', '-') : text;
        return text.Length == 0 ? hash : text + "-" + hash;
    }

    private static string Collapse(string text, char separator)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c == separator && (builder.Length == 0 || builder[^1] == separator))
            {
                continue;
            }

            builder.Append(c);
        }

        return builder.ToString().TrimEnd(separator);
    }

    private static string Hash(string value, int length) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..length];

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();
}
