using System.Globalization;
using System.IO.MemoryMappedFiles;
using Sidecars.AgentLifecycle;
using Sidecars.Observability;

namespace Sidecars.AgentLifecycle.Tests;

public sealed class IdleMemoryTests
{
    private const string Smaps = """
        55d0c0000000-55d0c0021000 r--p 00000000 fd:01 1001                       /usr/local/bin/sidecars-agent
        Size:                132 kB
        Rss:                 132 kB
        Anonymous:             0 kB
        55d0c0021000-55d0c08a9000 r-xp 00021000 fd:01 1001                       /usr/local/bin/sidecars-agent
        Size:               8736 kB
        Rss:                6000 kB
        Anonymous:             0 kB
        55d0c10b0000-55d0c10b2000 r--p 010af000 fd:01 1001                       /usr/local/bin/sidecars-agent
        Size:                  8 kB
        Rss:                   8 kB
        Anonymous:             8 kB
        55d0c10b2000-55d0c10f0000 rw-p 010b1000 fd:01 1001                       /usr/local/bin/sidecars-agent
        Size:                248 kB
        Rss:                 248 kB
        Anonymous:           120 kB
        55d0c10f0000-55d0c1600000 rw-p 00000000 00:00 0 
        Size:               5184 kB
        Rss:                4900 kB
        Anonymous:          4900 kB
        7f0000000000-7f0000100000 r--s 00000000 fd:01 2002                       /usr/lib/shared.bin
        Size:               1024 kB
        Rss:                  64 kB
        Anonymous:             0 kB
        7f0000200000-7f0000400000 r-xp 00000000 fd:01 2003                       /usr/lib/x86_64-linux-gnu/libcrypto.so.3
        Size:               2048 kB
        Rss:                1500 kB
        Anonymous:             0 kB
        7f0000480000-7f0000490000 r--p 00000000 fd:01 2006                       /usr/lib/x86_64-linux-gnu/libssl.so.3
        Size:                 64 kB
        Rss:                   0 kB
        Anonymous:             0 kB
        Swap:                  8 kB
        7f0000500000-7f0000501000 r--p 00000000 00:01 2004                       /memfd:doublemapper (deleted)
        Size:                  4 kB
        Rss:                   4 kB
        Anonymous:             0 kB
        7f0000600000-7f0000601000 r--p 00000000 00:05 2005                       /dev/zero
        Size:                  4 kB
        Rss:                   4 kB
        Anonymous:             0 kB
        7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
        Size:                  8 kB
        Rss:                   8 kB
        Anonymous:             0 kB
        """;

    [Fact]
    public void Only_private_read_only_file_mappings_without_a_written_page_may_be_unmapped()
    {
        var clean = FilePages.CleanMappings(Smaps);

        Assert.Equal(
        [
            new FilePages.FileMapping(0x55d0c0000000, 0x55d0c0021000, "/usr/local/bin/sidecars-agent", 132 * 1024),
            new FilePages.FileMapping(0x55d0c0021000, 0x55d0c08a9000, "/usr/local/bin/sidecars-agent", 6000 * 1024),
            new FilePages.FileMapping(0x7f0000200000, 0x7f0000400000, "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", 1500 * 1024),
        ], clean);
    }

    /// <summary>
    /// The runtime's own code in this process (libcoreclr.so, never relocated again once loaded): unmapping it leaves it
    /// less resident, and the process runs on, mapping back what it executes.
    /// </summary>
    [Fact]
    public void Unmapping_a_clean_library_lowers_its_resident_pages_and_the_process_runs_on()
    {
        static bool Runtime(string path) => path.EndsWith("/libcoreclr.so", StringComparison.Ordinal);
        long Resident() => FilePages.CleanMappings(File.ReadAllText("/proc/self/smaps")).Where(m => Runtime(m.Path)).Sum(m => m.ResidentBytes);
        var before = Resident();
        Assert.True(before > 0, "libcoreclr.so has no clean resident mapping");

        var released = FilePages.Unmap(Runtime);
        var after = Resident();

        Assert.True(released > 0, "nothing unmapped");
        Assert.True(after < before, string.Create(CultureInfo.InvariantCulture, $"{after} bytes resident after unmapping, {before} before"));
        // Still running on the runtime whose pages were unmapped.
        Assert.Equal(2, Enumerable.Range(0, 2).Select(i => i.ToString(CultureInfo.InvariantCulture)).Distinct().Count());
    }

    /// <summary>
    /// Two private mappings of one cached file, one registered: reading a byte maps the page and, in the other one, its
    /// cached neighbours (the kernel's fault-around); the registered one maps that page alone.
    /// </summary>
    [Fact]
    public void A_registered_file_mapping_maps_only_the_pages_touched()
    {
        var path = CachedFile("touched-");
        try
        {
            using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.CopyOnWrite);
            using var around = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
            using var exact = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
            var start = (ulong)exact.SafeMemoryMappedViewHandle.DangerousGetHandle();
            Assert.Equal(1, TouchedPagesOnly.Register([(start, start + (ulong)(256 * Page))]));
            Assert.Equal("yes", TouchedPagesOnly.Status);

            AssertFaultAround(around);
            Assert.Equal((byte)0, exact.ReadByte(128 * Page));
            Assert.Equal((byte)1, exact.ReadByte((128 * Page) + 1));
            Assert.Equal(Page, Resident(exact));
            Assert.Equal((byte)5, exact.ReadByte((200 * Page) + 5));
            Assert.Equal(2 * Page, Resident(exact));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Where faults cannot be registered: a cached file's pages, once unmapped and dropped, map back one at a time,
    /// where before a read mapped its cached neighbours too; the next release sets the mapping back to read-ahead.
    /// </summary>
    [Fact]
    public void Dropped_pages_of_an_unmapped_file_range_map_back_one_at_a_time_until_the_next_release()
    {
        var path = CachedFile("cold-");
        try
        {
            using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.CopyOnWrite);
            using (var around = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite))
            {
                AssertFaultAround(around);
            }

            using var cold = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
            var start = (ulong)cold.SafeMemoryMappedViewHandle.DangerousGetHandle();
            var mapping = new FilePages.FileMapping(start, start + (ulong)(256 * Page), path, Resident(cold));
            Assert.Equal(0, ColdPages.Unmap([mapping]));
            Assert.True(ColdPages.Dropped);

            Assert.Equal((byte)0, cold.ReadByte(128 * Page));
            Assert.Equal((byte)1, cold.ReadByte((128 * Page) + 1));
            Assert.Equal(Page, Resident(cold));
            Assert.Equal((byte)5, cold.ReadByte((200 * Page) + 5));
            Assert.Equal(2 * Page, Resident(cold));

            // The next release unmaps the two pages, drops nothing and sets read-ahead back: a page not cached comes
            // with the neighbours read ahead with it again.
            Assert.Equal(2 * Page, ColdPages.Unmap([mapping with { ResidentBytes = Resident(cold) }]));
            Assert.Equal(0, Resident(cold));
            Assert.Equal((byte)(100 * Page % 256 + 7), cold.ReadByte((100 * Page) + 7));
            Assert.True(Resident(cold) > Page, $"{Resident(cold)} bytes mapped after a read with read-ahead back on");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_burst_ends_with_the_first_quiet_period_after_a_busy_one()
    {
        const long Burst = IdleMemory.BurstWatch.BurstBytes;
        var watch = new IdleMemory.BurstWatch(0);
        var allocated = 0L;
        bool Period(long bytes) => watch.EndedAt(allocated += bytes);

        Assert.False(Period(Burst / 100)); // probes and scrapes: quiet
        Assert.False(Period(Burst / 100));
        Assert.False(Period(Burst)); // a load of calls
        Assert.False(Period(3 * Burst));
        Assert.True(Period(Burst / 100)); // quiet again: release once
        Assert.False(Period(0));
        Assert.False(Period(Burst / 100));
    }

    [Fact]
    public void Under_a_JIT_runtime_only_the_heap_and_malloc_are_trimmed()
    {
        Assert.Equal(0, ProcessMemory.ReturnAll());
    }

    private const int Page = 4096;

    /// <summary>A new file of 256 pages, written back and wholly in the page cache; returns its path.</summary>
    private static string CachedFile(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        using (var written = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            written.Write(Enumerable.Range(0, 256 * Page).Select(i => (byte)i).ToArray());
            // Written back and clean, so that no page of it is locked for writeback when the kernel maps around a fault.
            written.Flush(flushToDisk: true);
        }

        // Every page in the page cache: fault-around maps only cached pages.
        Assert.Equal(256 * Page, File.ReadAllBytes(path).Length);
        return path;
    }

    /// <summary>
    /// Reads three pages of a plain mapping of a <see cref="CachedFile"/>, each in another 64 KiB window, and checks the
    /// tests' premise: the kernel mapped their cached neighbours too.
    /// </summary>
    private static void AssertFaultAround(MemoryMappedViewAccessor view)
    {
        foreach (var page in new[] { 40, 128, 216 })
        {
            Assert.Equal((byte)0, view.ReadByte(page * Page));
        }

        Assert.True(Resident(view) > 3 * Page, $"{Resident(view)} bytes mapped around 3 pages read: the premise (fault-around) does not hold here");
    }

    /// <summary>The resident bytes of a view's mapping, from <c>/proc/self/smaps</c>.</summary>
    private static long Resident(MemoryMappedViewAccessor view)
    {
        var header = ((ulong)view.SafeMemoryMappedViewHandle.DangerousGetHandle()).ToString("x", CultureInfo.InvariantCulture) + "-";
        var lines = File.ReadAllLines("/proc/self/smaps");
        var at = Array.FindIndex(lines, l => l.StartsWith(header, StringComparison.Ordinal));
        Assert.True(at >= 0, $"no mapping at {header}");
        var rss = lines.Skip(at + 1).First(l => l.StartsWith("Rss:", StringComparison.Ordinal));
        return long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
