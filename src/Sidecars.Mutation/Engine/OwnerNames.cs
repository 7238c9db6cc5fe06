using System.Globalization;
using System.Text;

namespace Sidecars.Mutation;

/// <summary>
/// Turns a user name into a label value and a DNS label. Label rule: every character outside
/// <c>[A-Za-z0-9._-]</c> becomes <c>_</c> (so <c>system:serviceaccount:ns:sa</c> becomes
/// <c>system_serviceaccount_ns_sa</c>), leading and trailing non-alphanumerics are dropped, and a name longer than
/// 63 characters keeps its first 54 followed by <c>-</c> and 8 hex digits of the FNV-1a hash of the full name, so
/// long names stay distinct. An empty result is <c>unknown</c>.
/// </summary>
public static class OwnerNames
{
    public const string Unknown = "unknown";
    private const int MaxLength = 63;
    private const int KeptLength = 54;

    public static string ToLabelValue(string owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var builder = new StringBuilder(owner.Length);
        foreach (var c in owner)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }

        return Finish(builder.ToString(), owner, char.IsAsciiLetterOrDigit);
    }

    /// <summary>Lower-case DNS label form (for claim names): other characters become <c>-</c>, runs collapse.</summary>
    public static string ToDnsLabel(string owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var builder = new StringBuilder(owner.Length);
        foreach (var c in owner)
        {
            var mapped = char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-';
            if (mapped == '-' && builder.Length > 0 && builder[^1] == '-')
            {
                continue;
            }

            builder.Append(mapped);
        }

        return Finish(builder.ToString(), owner, c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));
    }

    private static string Finish(string mapped, string original, Func<char, bool> isEdge)
    {
        var trimmed = Trim(mapped, isEdge);
        if (trimmed.Length > MaxLength)
        {
            trimmed = Trim(trimmed[..KeptLength], isEdge) + "-" + Fnv1a(original).ToString("x8", CultureInfo.InvariantCulture);
        }

        return trimmed.Length == 0 ? Unknown : trimmed;
    }

    private static string Trim(string value, Func<char, bool> isEdge)
    {
        var start = 0;
        var end = value.Length;
        while (start < end && !isEdge(value[start]))
        {
            start++;
        }

        while (end > start && !isEdge(value[end - 1]))
        {
            end--;
        }

        return value[start..end];
    }

    private static uint Fnv1a(string value)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }
}
