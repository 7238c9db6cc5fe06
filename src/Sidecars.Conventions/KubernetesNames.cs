using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Sidecars.Conventions;

/// <summary>
/// Kubernetes name, label value and quantity rules (source-generated regexes), and the one way Sidecars turns any
/// text into a label value or a DNS label.
/// </summary>
public static partial class KubernetesNames
{
    /// <summary>Longest label value and DNS-1123 label.</summary>
    public const int MaxLabelLength = 63;

    /// <summary>Longest DNS-1123 subdomain (most object names).</summary>
    public const int MaxSubdomainLength = 253;

    /// <summary>Characters of the hash suffix a sanitised name ends with (base32, 65 bits of SHA-256).</summary>
    public const int HashLength = 13;

    /// <summary>Shortest length a sanitised name may be cut to: one readable character, '-' and the hash.</summary>
    public const int MinSanitizedLength = HashLength + 2;

    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>Stands in for the readable part when nothing of the input survives sanitising.</summary>
    private const string Placeholder = "x";

    public static bool IsDnsLabel([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= MaxLabelLength } && DnsLabel().IsMatch(value);

    public static bool IsDnsSubdomain([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= MaxSubdomainLength } && DnsSubdomain().IsMatch(value);

    /// <summary>A label value; the empty string is one.</summary>
    public static bool IsLabelValue([NotNullWhen(true)] string? value) =>
        value is not null && (value.Length == 0 || (value.Length <= MaxLabelLength && LabelValue().IsMatch(value)));

    public static bool IsQuantity(string value) => value.Length is > 0 and <= 64 && Quantity().IsMatch(value);

    public static bool IsResourceName(string value) => value.Length is > 0 and <= MaxSubdomainLength && ResourceName().IsMatch(value);

    public static bool IsRegistry(string value) => value.Length <= 255 && Registry().IsMatch(value);

    /// <summary>A blessing extension: one component of a blessing name (no ':' separators, no spaces).</summary>
    public static bool IsBlessingExtension(string value) => value.Length is > 0 and <= MaxLabelLength && LabelValue().IsMatch(value);

    /// <summary>
    /// A non-empty label value for any text, at most <paramref name="maxLength"/> characters. A valid label value
    /// stays as it is; any other text keeps its readable form (other characters become <c>_</c>, cut to fit) followed
    /// by <c>-</c> and a hash of the whole text, so that two texts never share a value. A valid value that already
    /// ends like such a hash (or that <paramref name="reserved"/> names) is given a hash too, so no text can be chosen
    /// to equal another text's value.
    /// </summary>
    public static string ToLabelValue(string value, int maxLength = MaxLabelLength, Func<string, bool>? reserved = null) =>
        Sanitize(value, maxLength, reserved, lowerCase: false);

    /// <summary>
    /// A DNS-1123 label for any text (lower case letters, digits and inner <c>-</c>), by the rule of
    /// <see cref="ToLabelValue"/>: a valid DNS label stays, anything else is its readable form plus a hash.
    /// </summary>
    public static string ToDnsLabel(string value, int maxLength = MaxLabelLength, Func<string, bool>? reserved = null) =>
        Sanitize(value, maxLength, reserved, lowerCase: true);

    /// <summary>Whether <paramref name="value"/> ends the way a sanitised name does: <c>-</c> and a hash.</summary>
    public static bool EndsWithHash(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length < HashLength + 1 || value[^(HashLength + 1)] != '-')
        {
            return false;
        }

        foreach (var c in value.AsSpan(value.Length - HashLength))
        {
            if (!Base32.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static string Sanitize(string value, int maxLength, Func<string, bool>? reserved, bool lowerCase)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, MinSanitizedLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, MaxLabelLength);
        var valid = lowerCase ? IsDnsLabel(value) : value.Length > 0 && IsLabelValue(value);
        if (valid && value.Length <= maxLength && !EndsWithHash(value) && reserved?.Invoke(value) != true)
        {
            return value;
        }

        var replacement = lowerCase ? '-' : '_';
        var readable = new StringBuilder(Math.Min(value.Length, maxLength));
        foreach (var original in value)
        {
            var c = lowerCase ? char.ToLowerInvariant(original) : original;
            var allowed = char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'
                || (!lowerCase && (char.IsAsciiLetterUpper(c) || c is '.' or '_'));
            if (!allowed)
            {
                c = replacement;
            }

            // Runs of replaced characters read as one.
            if (c == replacement && readable.Length > 0 && readable[^1] == replacement)
            {
                continue;
            }

            readable.Append(c);
            if (readable.Length > maxLength)
            {
                break;
            }
        }

        var room = maxLength - HashLength - 1;
        var text = TrimToAlphanumeric(readable.Length > room ? readable.ToString(0, room) : readable.ToString());
        return (text.Length == 0 ? Placeholder : text) + "-" + Hash(value);
    }

    private static string TrimToAlphanumeric(string value)
    {
        var start = 0;
        var end = value.Length;
        while (start < end && !char.IsAsciiLetterOrDigit(value[start]))
        {
            start++;
        }

        while (end > start && !char.IsAsciiLetterOrDigit(value[end - 1]))
        {
            end--;
        }

        return value[start..end];
    }

    /// <summary>The first 65 bits of the SHA-256 of the UTF-8 text, in lower-case base32.</summary>
    private static string Hash(string value)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(value), digest);
        Span<char> text = stackalloc char[HashLength];
        for (var i = 0; i < HashLength; i++)
        {
            var bit = i * 5;
            var pair = (digest[bit / 8] << 8) | digest[(bit / 8) + 1];
            text[i] = Base32[(pair >> (11 - (bit % 8))) & 31];
        }

        return new string(text);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelValue();

    [GeneratedRegex(@"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Quantity();

    [GeneratedRegex(@"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ResourceName();

    [GeneratedRegex(@"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Registry();
}
