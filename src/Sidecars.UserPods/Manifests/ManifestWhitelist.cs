using System.Text.RegularExpressions;

namespace Sidecars.UserPods.Manifests;

/// <summary>Manifest URLs must be absolute http(s) URLs that the whole configured regular expression matches.</summary>
public sealed class ManifestWhitelist(string pattern)
{
    private readonly Regex _regex = new(
        @"\A(?:" + pattern + @")\z", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(200));

    /// <summary>Null when the URL is allowed, else why not.</summary>
    public string? Refusal(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return $"yaml_url '{url}' is not an absolute http or https URL";
        }

        bool matches;
        try
        {
            matches = _regex.IsMatch(url);
        }
        catch (RegexMatchTimeoutException)
        {
            matches = false;
        }

        return matches ? null : $"yaml_url '{url}' is not on the manifest whitelist";
    }
}
