namespace Sidecars.Mutation;

/// <summary>Registry rewriting that keeps the whole repository path and the tag or digest.</summary>
public static class ImageReferences
{
    private const string Placeholder = InjectionOptions.LocalRegistry + "/";

    /// <summary>
    /// <c>LOCALREGISTRY/team/app:1</c> becomes <c>&lt;registry&gt;/team/app:1</c> (digests likewise); anything else, or
    /// an empty registry, gives null.
    /// </summary>
    public static string? Rewrite(string image, string registry)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(registry);
        if (registry.Length == 0 || image.Length <= Placeholder.Length || !image.StartsWith(Placeholder, StringComparison.Ordinal))
        {
            return null;
        }

        return string.Concat(registry, "/", image.AsSpan(Placeholder.Length));
    }

    public static bool UsesPlaceholder(string image) =>
        image.StartsWith(Placeholder, StringComparison.Ordinal);

    public static bool IsFromRegistry(string image, string registry) =>
        registry.Length > 0 && image.Length > registry.Length + 1 && image.StartsWith(registry, StringComparison.Ordinal)
        && image[registry.Length] == '/';
}
