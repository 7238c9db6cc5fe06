using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Sidecars.Observability;

namespace Sidecars.AgentLifecycle;

/// <summary>
/// Gives back what starting up left resident, once an agent is ready and has nothing to do: the heap's free space
/// (a compacting collection), malloc's free pages (OpenSSL allocates through it), and this process's mappings of the
/// code and read-only data that only starting up touched. An agent runs in every pod, so what it keeps resident counts
/// once per pod.
/// </summary>
/// <remarks>
/// Starting up (the host, dependency injection, configuration, TLS, the first issuance) touches most of the binary's
/// 18 MB, and the kernel maps each page touched with its neighbours: 16 MiB of code and read-only data stayed mapped,
/// of which a quiet agent maps back a third or less. <c>madvise(MADV_DONTNEED)</c> on a clean, read-only, private file mapping
/// only removes this process's page-table entries: the pages stay in the page cache (shared with every other agent of
/// the same image on the node, never read from disk again) and the next touch maps them back, so serving brings back
/// only what it uses. A page of such a mapping that was ever written (relocations applied before the loader made it
/// read-only) is private, anonymous memory that <c>MADV_DONTNEED</c> would discard: a mapping holding any is left
/// alone. Done only under NativeAOT, where nothing maps and relocates images while the agent runs; a JIT runtime loads
/// and relocates assemblies at any time, and a mapping could be written between reading <c>smaps</c> and the call.
/// </remarks>
public static partial class IdleMemory
{
    /// <summary>How often the agents look for the end of a burst.</summary>
    public static readonly TimeSpan BurstPeriod = TimeSpan.FromSeconds(5);

    private const int MadviseDontNeed = 4;

    /// <summary>Collects, trims malloc and unmaps the clean file pages; returns the bytes of file pages unmapped.</summary>
    public static long Release()
    {
        ProcessMemory.Return();
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        return RuntimeFeature.IsDynamicCodeSupported ? 0 : UnmapCleanFilePages(_ => true);
    }

    /// <summary>
    /// Releases again each time the agent turns quiet after a burst of work (a load of calls, a run of scrapes): what
    /// the burst grew (heap, malloc arenas, code it ran) would otherwise stay resident until the next burst. Probes and
    /// scrapes at their usual rates are no burst and release nothing. Checks every <paramref name="period"/>, which
    /// costs a counter read.
    /// </summary>
    public static ITimer ReleaseAfterBursts(TimeProvider time, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(time);
        var bursts = new BurstWatch(GC.GetTotalAllocatedBytes());
        return time.CreateTimer(_ =>
        {
            if (bursts.EndedAt(GC.GetTotalAllocatedBytes()))
            {
                Release();
            }
        }, null, period, period);
    }

    /// <summary>Unmaps the clean, private, read-only file mappings that <paramref name="which"/> selects (by path).</summary>
    internal static long UnmapCleanFilePages(Func<string, bool> which)
    {
        long released = 0;
        var mappings = CleanFileMappings(File.ReadAllText("/proc/self/smaps"));
        TouchedPagesOnly.Register(mappings.Where(m => which(m.Path)).Select(m => (m.Start, m.End)));
        foreach (var mapping in mappings)
        {
            if (which(mapping.Path) && Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadviseDontNeed) == 0)
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
    internal static IReadOnlyList<FileMapping> CleanFileMappings(string smaps)
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
    private static partial int Madvise(nint address, nuint length, int advice);

    /// <summary>
    /// Tells from the bytes allocated so far, read at each period, when a burst has just ended: a period in which the
    /// agent allocated at least <see cref="BurstBytes"/>, followed by a quiet one.
    /// </summary>
    internal sealed class BurstWatch(long allocated)
    {
        /// <summary>A period's allocations that make it busy: a probe allocates a few KiB, a scrape some tens, a load of calls megabytes a second.</summary>
        public const long BurstBytes = 1 << 20;

        private long _allocated = allocated;
        private bool _busy;

        public bool EndedAt(long allocated)
        {
            var busy = allocated - _allocated >= BurstBytes;
            _allocated = allocated;
            var ended = _busy && !busy;
            _busy = busy;
            return ended;
        }
    }

    internal sealed record FileMapping(ulong Start, ulong End, string Path, long ResidentBytes);
}
