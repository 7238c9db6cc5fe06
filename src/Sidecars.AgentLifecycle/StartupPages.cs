using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Sidecars.AgentLifecycle;

/// <summary>A read-only mapping of a file (code and constant data of the binary and its libraries).</summary>
public readonly record struct FileMapping(ulong Start, ulong End, string Path)
{
    public ulong Length => End - Start;
}

/// <summary>What <see cref="StartupPages.Release"/> did.</summary>
public readonly record struct ReleasedPages(int Mappings, ulong Bytes, int Refused, long ResidentBefore, long ResidentAfter);

/// <summary>
/// Gives the kernel back the file pages that starting up touched and idling does not: the code and read-only data
/// of hosting, dependency injection, configuration, Kestrel's start and the first TLS handshake. Once the agent is
/// ready, its read-only file mappings are marked for random access (a later fault reads the one page it needs, not
/// a readahead window) and paged out (<c>MADV_PAGEOUT</c>, Linux 5.4+); pages shared with another process stay.
/// What the agent runs afterwards faults back in page by page, so its resident set follows what it actually uses,
/// and so does the pod's memory as the kubelet counts it (mapped file pages are charged to the container).
/// </summary>
public static partial class StartupPages
{
    private const int MadvRandom = 1;
    private const int MadvPageout = 21;

    /// <summary>The read-only, file-backed mappings in <paramref name="mapsLines"/> (the format of <c>/proc/PID/maps</c>).</summary>
    public static IReadOnlyList<FileMapping> ReadOnlyFileMappings(IEnumerable<string> mapsLines)
    {
        ArgumentNullException.ThrowIfNull(mapsLines);
        var mappings = new List<FileMapping>();
        foreach (var line in mapsLines)
        {
            // start-end perms offset dev inode path; the path may contain spaces and is absent for anonymous memory.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[1].Length < 4 || fields[1][0] != 'r' || fields[1][1] == 'w')
            {
                continue;
            }

            var path = fields[5].Trim();
            var range = fields[0].Split('-');
            if (!path.StartsWith('/') || path.EndsWith(" (deleted)", StringComparison.Ordinal) || range.Length != 2
                || !ulong.TryParse(range[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                || !ulong.TryParse(range[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end)
                || end <= start)
            {
                continue;
            }

            mappings.Add(new FileMapping(start, end, path));
        }

        return mappings;
    }

    /// <summary>Releases the startup pages of <paramref name="mappings"/> (all of this process's when null); a no-op off Linux.</summary>
    public static ReleasedPages Release(IReadOnlyList<FileMapping>? mappings = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            return default;
        }

        mappings ??= ReadOnlyFileMappings(File.ReadLines("/proc/self/maps"));
        var before = ResidentFileBytes();
        var released = 0;
        var refused = 0;
        ulong bytes = 0;
        foreach (var mapping in mappings)
        {
            // Both calls are advice: an older kernel that refuses MADV_PAGEOUT (EINVAL) leaves the pages resident.
            _ = Madvise((nint)mapping.Start, (nuint)mapping.Length, MadvRandom);
            if (Madvise((nint)mapping.Start, (nuint)mapping.Length, MadvPageout) == 0)
            {
                released++;
                bytes += mapping.Length;
            }
            else
            {
                refused++;
            }
        }

        return new ReleasedPages(released, bytes, refused, before, ResidentFileBytes());
    }

    /// <summary>Releases this process's startup pages and logs how much stayed resident.</summary>
    public static ReleasedPages Release(ILogger logger)
    {
        var result = Release();
        if (result.Mappings + result.Refused > 0)
        {
            LogReleased(logger, result.Mappings, result.Refused, result.ResidentBefore / 1024, result.ResidentAfter / 1024);
        }

        return result;
    }

    /// <summary>This process's resident file-backed memory (<c>RssFile</c>), or -1 when unknown.</summary>
    public static long ResidentFileBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }

        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("RssFile:", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(8).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb))
            {
                return kb * 1024;
            }
        }

        return -1;
    }

    [LoggerMessage(1, LogLevel.Information,
        "Released the startup pages of {Mappings} read-only file mappings ({Refused} refused): resident file memory {BeforeKiB} KiB -> {AfterKiB} KiB")]
    private static partial void LogReleased(ILogger logger, int mappings, int refused, long beforeKiB, long afterKiB);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
