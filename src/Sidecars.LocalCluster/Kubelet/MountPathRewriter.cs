namespace Sidecars.LocalCluster;

/// <summary>
/// Rewrites container paths that fall under a volume's mountPath to the local directory standing in for that volume,
/// so a process started on the host finds its volumes. Handles a bare path and the <c>--option=/path</c> form.
/// </summary>
public sealed class MountPathRewriter
{
    private readonly (string MountPath, string LocalPath)[] _mounts;

    public MountPathRewriter(IReadOnlyDictionary<string, string> mounts)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        // Longest mount path first so nested mounts win over their parents.
        _mounts = mounts
            .Select(m => (MountPath: Normalise(m.Key), LocalPath: m.Value.TrimEnd('/')))
            .Where(m => m.MountPath.Length > 0)
            .OrderByDescending(m => m.MountPath.Length)
            .ToArray();
    }

    public string Rewrite(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (TryRewritePath(value, out var rewritten))
        {
            return rewritten;
        }

        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0 && TryRewritePath(value[(equals + 1)..], out var rewrittenValue))
        {
            return string.Concat(value.AsSpan(0, equals + 1), rewrittenValue);
        }

        return value;
    }

    private bool TryRewritePath(string value, out string rewritten)
    {
        foreach (var (mountPath, localPath) in _mounts)
        {
            if (value.Equals(mountPath, StringComparison.Ordinal)
                || (value.StartsWith(mountPath, StringComparison.Ordinal) && value[mountPath.Length] == '/'))
            {
                rewritten = localPath + value[mountPath.Length..];
                return true;
            }
        }

        rewritten = value;
        return false;
    }

    private static string Normalise(string mountPath) => mountPath.Length > 1 ? mountPath.TrimEnd('/') : string.Empty;
}
