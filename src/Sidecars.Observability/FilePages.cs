using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sidecars.Observability;

/// <summary>
/// Gives back a process's mappings of the code and read-only data it no longer runs, and makes what it runs next map
/// back page by page (<see cref="TouchedPagesOnly"/>, or where that is refused, <see cref="ColdPages"/>).
/// </summary>
/// <remarks>
/// Starting up (the host, dependency injection, configuration, TLS) touches most of a NativeAOT binary, and the kernel
/// maps each page touched with its cached neighbours: most of an 18 MB binary stays mapped, of which a serving process
/// runs a fraction. <c>madvise(MADV_DONTNEED)</c> on a clean, read-only, private file mapping only removes this
/// process's page-table entries: the pages stay in the page cache (shared with every other process of the same image
/// on the node, never read from disk again) and the next touch maps them back. A page of such a mapping that was ever
/// written (relocations applied before the loader made it read-only) is private, anonymous memory that
/// <c>MADV_DONTNEED</c> would discard: a mapping holding any is left alone. Done only under NativeAOT, where nothing
/// maps and relocates images while the process runs; a JIT runtime loads and relocates assemblies at any time, and a
/// mapping could be written between reading <c>smaps</c> and the call.
/// </remarks>
public static partial class FilePages
{
    internal const int MadviseDontNeed = 4;

    /// <summary>
    /// Under NativeAOT on Linux, registers the clean file mappings so that faults map only the page touched, then
    /// unmaps them; returns the bytes unmapped (0 elsewhere).
    /// </summary>
    public static long Return() =>
        OperatingSystem.IsLinux() && !RuntimeFeature.IsDynamicCodeSupported ? Unmap(_ => true) : 0;

    /// <summary>For the log: how a fault on the unmapped pages maps them back.</summary>
    public static string Faults =>
        TouchedPagesOnly.Available ? "only the page touched"
        : ColdPages.Dropped ? $"the page touched and its cached neighbours, the pages no process maps dropped from the page cache ({TouchedPagesOnly.Refusal})"
        : $"the page touched and its cached neighbours ({TouchedPagesOnly.Refusal})";

    /// <summary>
    /// Registers the clean, private, read-only file mappings that <paramref name="which"/> selects (by path) with
    /// <see cref="TouchedPagesOnly"/> and unmaps them, or where the registration is refused, has <see cref="ColdPages"/>
    /// unmap them and drop their pages from the page cache; returns the bytes that were resident.
    /// </summary>
    public static long Unmap(Func<string, bool> which)
    {
        var mappings = CleanMappings(File.ReadAllText("/proc/self/smaps")).Where(m => which(m.Path)).ToList();
        TouchedPagesOnly.Register(mappings.Select(m => (m.Start, m.End)));
        if (!TouchedPagesOnly.Available)
        {
            return ColdPages.Unmap(mappings);
        }

        long released = 0;
        foreach (var mapping in mappings)
        {
            if (Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadviseDontNeed) == 0)
            {
                released += mapping.ResidentBytes;
            }
        }

        return released;
    }

    /// <summary>
    /// The mappings of <c>/proc/&lt;pid&gt;/smaps</c> that may be unmapped: a regular file, private, not writable, and
    /// with no anonymous (written, copied-on-write) page, resident or swapped out.
    /// </summary>
    public static IReadOnlyList<FileMapping> CleanMappings(string smaps)
    {
        var clean = new List<FileMapping>();
        FileMapping? current = null;
        var anonymous = false;
        void Close()
        {
            if (current is not null && !anonymous)
            {
                clean.Add(current);
            }
        }

        foreach (var line in smaps.Split('\n'))
        {
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 5 && parts[0].Contains('-', StringComparison.Ordinal) && !parts[0].EndsWith(':'))
            {
                // A mapping's header: "start-end perms offset dev inode [path]".
                Close();
                var range = parts[0].Split('-');
                var path = parts.Length == 6 ? parts[5].Trim() : string.Empty;
                var eligible = parts[1] is "r-xp" or "r--p" && path.StartsWith('/') && !path.StartsWith("/dev/", StringComparison.Ordinal)
                    && !path.StartsWith("/memfd:", StringComparison.Ordinal) && !path.EndsWith("(deleted)", StringComparison.Ordinal);
                current = eligible
                    ? new FileMapping(ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                        ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), path, 0)
                    : null;
                anonymous = false;
            }
            else if (current is not null && parts.Length >= 2 && parts[0] == "Rss:")
            {
                current = current with { ResidentBytes = long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024 };
            }
            else if (current is not null && parts.Length >= 2 && parts[0] is "Anonymous:" or "Swap:" && parts[1] != "0")
            {
                anonymous = true;
            }
        }

        Close();
        return clean;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    internal static partial int Madvise(nint address, nuint length, int advice);

    public sealed record FileMapping(ulong Start, ulong End, string Path, long ResidentBytes);
}
