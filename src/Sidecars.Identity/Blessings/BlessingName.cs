using System.Diagnostics.CodeAnalysis;

namespace Sidecars.Identity.Blessings;

/// <summary>
/// Blessing names are ':'-separated extensions (<c>root:my-service:web-0</c>). In certificates a name is the
/// URI subject alternative name <c>blessing:&lt;name&gt;</c>.
/// </summary>
public static class BlessingName
{
    public const char Separator = ':';
    public const string UriScheme = "blessing";
    public const int MaxLength = 253;
    public const int MaxSegmentLength = 63;

    /// <summary>Checks a name (one or more segments); <paramref name="error"/> says why it is refused.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(name))
        {
            error = "a blessing name must not be empty";
            return false;
        }

        if (name.Length > MaxLength)
        {
            error = $"a blessing name must be at most {MaxLength} characters";
            return false;
        }

        foreach (var segment in name.Split(Separator))
        {
            if (segment.Length == 0 || segment.Length > MaxSegmentLength)
            {
                error = $"each ':'-separated part of a blessing name must have 1 to {MaxSegmentLength} characters";
                return false;
            }

            foreach (var c in segment)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
                {
                    error = "a blessing name may contain only ASCII letters, digits, '-', '.', '_' and ':' between parts";
                    return false;
                }
            }
        }

        error = null;
        return true;
    }

    /// <summary>Appends an extension: <c>Extend("root", "app") == "root:app"</c>.</summary>
    public static string Extend(string name, string extension) => name + Separator + extension;

    /// <summary>True when <paramref name="name"/> equals <paramref name="prefix"/> or extends it.</summary>
    public static bool IsExtensionOf(string name, string prefix) =>
        name.Length == prefix.Length
            ? string.Equals(name, prefix, StringComparison.Ordinal)
            : name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length] == Separator;

    public static Uri ToUri(string name) => new(UriScheme + ":" + name, UriKind.Absolute);

    /// <summary>The name in a <c>blessing:</c> URI, or null when the URI is of another kind.</summary>
    public static string? FromUri(string uri) =>
        uri.StartsWith(UriScheme + ":", StringComparison.Ordinal) ? uri[(UriScheme.Length + 1)..] : null;
}
