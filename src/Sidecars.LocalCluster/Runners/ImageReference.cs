namespace Sidecars.LocalCluster;

/// <summary>Splits a container image reference into the parts runners match on.</summary>
public static class ImageReference
{
    /// <summary>
    /// The repository path of <paramref name="image"/> including any registry host, without tag or digest:
    /// <c>registry:5000/sidecars/agent:v1@sha256:..</c> → <c>registry:5000/sidecars/agent</c>.
    /// </summary>
    public static string RepositoryOf(string image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var withoutDigest = image.Split('@', 2)[0];
        var lastSlash = withoutDigest.LastIndexOf('/');
        var lastColon = withoutDigest.LastIndexOf(':');
        return lastColon > lastSlash ? withoutDigest[..lastColon] : withoutDigest;
    }

    /// <summary>Whether the repository path of <paramref name="image"/> is <paramref name="path"/> or ends with <c>/path</c>.</summary>
    public static bool RepositoryEndsWith(string image, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var repository = RepositoryOf(image).Trim();
        var wanted = path.Trim('/');
        return repository.Equals(wanted, StringComparison.Ordinal)
            || repository.EndsWith("/" + wanted, StringComparison.Ordinal);
    }
}
