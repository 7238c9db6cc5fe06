using System.Globalization;
using System.IO.MemoryMappedFiles;
using Sidecars.AgentLifecycle;

namespace Sidecars.PodAgent.Tests;

public sealed class StartupPagesTests : IDisposable
{
    private const int PageSize = 4096;
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"startup-pages-{Guid.NewGuid():N}.bin");

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void Only_read_only_file_mappings_are_released()
    {
        string[] maps =
        [
            "55daeb33f000-55daeb360000 r--p 00000000 fe:00 11657347   /opt/agent/sidecars-agent",
            "55daeb360000-55daebbe3000 r-xp 00021000 fe:00 11657347   /opt/agent/sidecars-agent",
            "55daec3ae000-55daec3ea000 rw-p 0106e000 fe:00 11657347   /opt/agent/sidecars-agent",
            "55daec3ea000-55daec894000 rw-p 00000000 00:00 0 ",
            "55db2914f000-55db29217000 rw-p 00000000 00:00 0          [heap]",
            "7fb5a173d000-7fb5a1893000 r-xp 00028000 fe:00 2231       /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7fb5a1a00000-7fb5a1a10000 r--s 00000000 fe:00 4242       /var/lib/with space/data.bin",
            "7fb5a1b00000-7fb5a1b10000 r--p 00000000 fe:00 4243       /tmp/replaced.so (deleted)",
            "7ffc0e5f0000-7ffc0e5f2000 r-xp 00000000 00:00 0          [vdso]",
            "7ffc0e5f2000-7ffc0e5f3000 ---p 00000000 fe:00 11657347   /opt/agent/sidecars-agent",
            "not a maps line",
            "ffff-1000 r--p 00000000 fe:00 1 /backwards",
        ];

        var mappings = StartupPages.ReadOnlyFileMappings(maps);

        Assert.Equal(
            [
                new FileMapping(0x55daeb33f000, 0x55daeb360000, "/opt/agent/sidecars-agent"),
                new FileMapping(0x55daeb360000, 0x55daebbe3000, "/opt/agent/sidecars-agent"),
                new FileMapping(0x7fb5a173d000, 0x7fb5a1893000, "/usr/lib/x86_64-linux-gnu/libc.so.6"),
                new FileMapping(0x7fb5a1a00000, 0x7fb5a1a10000, "/var/lib/with space/data.bin"),
            ],
            mappings);
        Assert.Equal(0x21000ul, mappings[0].Length);
    }

    [Fact]
    public void Released_pages_leave_the_resident_set_and_read_back_unchanged()
    {
        const int pages = 512;
        var content = new byte[pages * PageSize];
        Random.Shared.NextBytes(content);
        using (var stream = new FileStream(_file, FileMode.CreateNew, FileAccess.Write))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true); // clean pages: the kernel drops them without writing back
        }

        using var map = MemoryMappedFile.CreateFromFile(_file, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, content.Length, MemoryMappedFileAccess.Read);
        for (var page = 0; page < pages; page++)
        {
            Assert.Equal(content[page * PageSize], view.ReadByte(page * PageSize));
        }

        var mapping = Assert.Single(StartupPages.ReadOnlyFileMappings(File.ReadLines("/proc/self/maps")), m => m.Path == _file);
        Assert.True(ResidentKiB(mapping) >= pages * PageSize / 1024 / 2, $"the mapping should be resident before, was {ResidentKiB(mapping)} KiB");

        var released = StartupPages.Release([mapping]);

        Assert.Equal((1, 0), (released.Mappings, released.Refused));
        Assert.True(ResidentKiB(mapping) < 64, $"{ResidentKiB(mapping)} KiB of the mapping stayed resident");
        var read = new byte[content.Length];
        view.ReadArray(0, read, 0, read.Length);
        Assert.Equal(content, read);
    }

    [Fact]
    public void Resident_file_memory_of_this_process_is_known_on_Linux()
    {
        Assert.True(StartupPages.ResidentFileBytes() > 0);
    }

    /// <summary>Rss of one mapping, from /proc/self/smaps.</summary>
    private static long ResidentKiB(FileMapping mapping)
    {
        var header = $"{mapping.Start:x}-{mapping.End:x} ";
        var inMapping = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.StartsWith(header, StringComparison.Ordinal))
            {
                inMapping = true;
            }
            else if (inMapping && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                return long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no mapping {header}in /proc/self/smaps");
    }
}
