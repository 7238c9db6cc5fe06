using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sidecars.Observability;

/// <summary>
/// Where a fault cannot be made to map only the page touched (<see cref="TouchedPagesOnly"/> refused), comes close to
/// it: unmaps a process's file pages and drops those that no process maps any more from the page cache, so that each
/// is read back alone when it runs again.
/// </summary>
/// <remarks>
/// A fault maps the page touched with its neighbours in the page cache (the kernel's fault-around, and the whole folio
/// when the cache holds the file in large folios). Once a replica has unmapped its start-up code, that code is still
/// cached (it read it starting up), so every page it runs again brings back neighbours that nothing runs.
/// <c>posix_fadvise(POSIX_FADV_DONTNEED)</c> drops the cached pages of the file range that no process maps (a page
/// that this or another process, in this pod or another, still maps stays cached), and <c>MADV_RANDOM</c> turns
/// read-ahead off on the mapping: a fault on a dropped page reads that page alone, and what the replica maps again is
/// what it runs, plus neighbours that it or another process runs. A dropped page costs one read from disk the first
/// time it runs again.
/// <para>
/// <c>MADV_RANDOM</c> also makes the kernel disregard the mapping's references when it picks pages to reclaim, so it
/// lasts until the process's next release only: by then what the process runs is cached again, and the mapping is set
/// back to normal read-ahead (a page first run after that comes with the neighbours read ahead with it, as before).
/// The calls need no privilege and are allowed by the container runtimes' default seccomp profiles.
/// </para>
/// </remarks>
public static partial class ColdPages
{
    private const int MadviseNormal = 0;
    private const int MadviseRandom = 1;
    private const int FadviseDontNeed = 4;

    private static readonly Lock Gate = new();

    // Each mapping handled so far: true while it reads page by page, false once set back (or never dropped).
    private static readonly Dictionary<(ulong Start, ulong End), bool> Mappings = [];

    /// <summary>Whether the cached pages of a mapping were ever dropped.</summary>
    public static bool Dropped { get; private set; }

    /// <summary>
    /// Unmaps <paramref name="mappings"/> (clean, private, read-only file mappings of this process). A mapping seen for
    /// the first time also has its file's cached pages that no process maps dropped and its read-ahead turned off; a
    /// mapping seen before that still reads page by page is set back to normal read-ahead. Returns the bytes that were
    /// resident.
    /// </summary>
    /// <remarks>
    /// The page cache holds a file in folios of up to 2 MiB, and a fault maps the whole folio: one page that this
    /// process runs between unmapping a range and dropping it keeps its folio cached and, touched again, mapped. So
    /// everything is prepared first, and the files are dropped right after the mappings are unmapped.
    /// </remarks>
    public static long Unmap(IReadOnlyList<FilePages.FileMapping> mappings)
    {
        ArgumentNullException.ThrowIfNull(mappings);
        lock (Gate)
        {
            long released = 0;
            var first = new List<FilePages.FileMapping>();
            foreach (var mapping in mappings)
            {
                var (start, length) = ((nint)mapping.Start, (nuint)(mapping.End - mapping.Start));
                if (!Mappings.TryGetValue((mapping.Start, mapping.End), out var reading))
                {
                    first.Add(mapping);
                    continue;
                }

                if (reading && FilePages.Madvise(start, length, MadviseNormal) == 0)
                {
                    Mappings[(mapping.Start, mapping.End)] = false;
                }

                released += FilePages.Madvise(start, length, FilePages.MadviseDontNeed) == 0 ? mapping.ResidentBytes : 0;
            }

            if (first.Count == 0)
            {
                return released;
            }

            var files = first.Select(m => m.Path).Distinct(StringComparer.Ordinal).ToDictionary(p => p, Open, StringComparer.Ordinal);
            try
            {
                var ranges = new Range[first.Count];
                for (var i = 0; i < first.Count; i++)
                {
                    var (start, length) = ((nint)first[i].Start, (nuint)(first[i].End - first[i].Start));
                    var random = files[first[i].Path] is not null && FilePages.Madvise(start, length, MadviseRandom) == 0;
                    Mappings[(first[i].Start, first[i].End)] = random;
                    ranges[i] = new Range(start, length);
                }

                var dropping = first.Where(m => Mappings[(m.Start, m.End)]).Select(m => files[m.Path]!).Distinct().ToArray();
                var descriptors = dropping.Select(f => (int)f.DangerousGetHandle()).ToArray();
                var unmapped = new int[ranges.Length];
                var dropped = new int[descriptors.Length];
                UnmapThenDrop(ranges, unmapped, descriptors, dropped);
                for (var i = 0; i < first.Count; i++)
                {
                    released += unmapped[i] == 0 ? first[i].ResidentBytes : 0;
                }

                Dropped |= dropped.Any(r => r == 0);
                return released;
            }
            finally
            {
                foreach (var file in files.Values)
                {
                    file?.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// Unmaps the ranges, then drops the files' cached pages (whole files: a folio across two mappings is dropped only
    /// by a range that holds all of it), running as little code as it can in between: two loops over arrays and the
    /// two calls, without the runtime's transition, so that as few folios as possible are mapped again when the
    /// files are dropped.
    /// </summary>
    private static void UnmapThenDrop(Range[] ranges, int[] unmapped, int[] descriptors, int[] dropped)
    {
        for (var i = 0; i < ranges.Length; i++)
        {
            unmapped[i] = MadviseNow(ranges[i].Start, ranges[i].Length, FilePages.MadviseDontNeed);
        }

        for (var i = 0; i < descriptors.Length; i++)
        {
            dropped[i] = FadviseNow(descriptors[i], 0, 0, FadviseDontNeed);
        }
    }

    private readonly record struct Range(nint Start, nuint Length);

    private static SafeFileHandle? Open(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not readable from here (no permission, gone): its pages are unmapped and left cached.
            return null;
        }
    }

    // Without the GC transition: each call is one system call on this process's own memory, made once per release.
    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    [SuppressGCTransition]
    private static partial int FadviseNow(int descriptor, long offset, long length, int advice);

    [LibraryImport("libc", EntryPoint = "madvise")]
    [SuppressGCTransition]
    private static partial int MadviseNow(nint address, nuint length, int advice);
}
