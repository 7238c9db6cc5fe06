using System.Text.RegularExpressions;

namespace Sidecars.PodAgent.Tokens;

/// <summary>Token keys are plain file names in the token directory: no separators, no "." or "..".</summary>
public static partial class TokenKeys
{
    public const string Pattern = "^[A-Za-z0-9._-]{1,63}$";

    public static bool IsValid(string? key) => key is not null && key is not ("." or "..") && KeyRegex().IsMatch(key);

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex KeyRegex();
}
