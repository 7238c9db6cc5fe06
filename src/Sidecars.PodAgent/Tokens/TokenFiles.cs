namespace Sidecars.PodAgent.Tokens;

/// <summary>What reading a token file gave.</summary>
internal enum TokenReadStatus
{
    Found,
    InvalidKey,
    Missing,
    TooLarge,
    Refused,
}

internal readonly record struct TokenRead(TokenReadStatus Status, byte[]? Content = null);

/// <summary>
/// Reads tokens the app wrote into the shared token directory. The app controls that directory, so a token must be
/// a regular file in it: a symbolic link (which would resolve in the agent's own filesystem, next to its secrets)
/// is refused, and on Linux the opened file's real path is checked to lie in the directory.
/// </summary>
internal sealed class TokenFiles(string directory, int byteLimit)
{
    public int ByteLimit { get; } = byteLimit;

    public async Task<TokenRead> ReadAsync(string key, CancellationToken cancellationToken)
    {
        if (!TokenKeys.IsValid(key))
        {
            return new TokenRead(TokenReadStatus.InvalidKey);
        }

        var path = Path.Combine(directory, key);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return new TokenRead(Directory.Exists(path) || info.LinkTarget is not null ? TokenReadStatus.Refused : TokenReadStatus.Missing);
        }

        if (info.LinkTarget is not null || (info.Attributes & (FileAttributes.Directory | FileAttributes.Device | FileAttributes.ReparsePoint)) != 0)
        {
            return new TokenRead(TokenReadStatus.Refused);
        }

        try
        {
            await using var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous,
            });
            if (!IsInsideDirectory(stream))
            {
                return new TokenRead(TokenReadStatus.Refused);
            }

            if (stream.Length > ByteLimit)
            {
                return new TokenRead(TokenReadStatus.TooLarge);
            }

            var buffer = new byte[ByteLimit + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
            {
                read += n;
            }

            return read > ByteLimit ? new TokenRead(TokenReadStatus.TooLarge) : new TokenRead(TokenReadStatus.Found, buffer[..read]);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new TokenRead(TokenReadStatus.Missing);
        }
        catch (UnauthorizedAccessException)
        {
            return new TokenRead(TokenReadStatus.Refused);
        }
    }

    /// <summary>Closes the gap between the link check and the open: the file actually opened must sit in the directory.</summary>
    private bool IsInsideDirectory(FileStream stream)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        var descriptor = stream.SafeFileHandle.DangerousGetHandle().ToInt64();
        var opened = new FileInfo($"/proc/self/fd/{descriptor}").LinkTarget;
        return opened is not null && Path.GetDirectoryName(opened) == RealPath(directory);
    }

    /// <summary>The directory's path with every symbolic link along it resolved.</summary>
    internal static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full) ?? "/";
        var result = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(result, part);
            var target = new DirectoryInfo(next).ResolveLinkTarget(returnFinalTarget: true);
            result = target is null ? next : RealPath(target.FullName);
        }

        return result;
    }
}
