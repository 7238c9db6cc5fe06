using System.Runtime.InteropServices;

namespace Sidecars.Observability;

/// <summary>
/// Hands a process's free memory back to the operating system after a burst of work: the managed heap's free space
/// and the free pages of C's allocator, which OpenSSL allocates through (each thread that ran TLS grew an arena).
/// Neither runtime nor allocator returns them by itself soon, so a replica or an agent that was busy once would
/// otherwise stay at its high-water mark, nearer its memory limit, for the rest of its life.
/// </summary>
public static partial class ProcessMemory
{
    /// <summary>
    /// One aggressive collection (blocking, compacting, large objects included, free regions decommitted), then a
    /// trim of every malloc arena. It pauses the process for the collection: call it when a burst is over, not on a
    /// hot path.
    /// </summary>
    public static void Return()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (EntryPointNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): nothing to trim.
        }
    }

    /// <summary>
    /// <see cref="Return"/>, then, published NativeAOT on Linux, <see cref="FilePages.Return"/>: what a replica or an
    /// agent gives back once it is ready, and again after a burst. Returns the bytes of file pages unmapped.
    /// </summary>
    public static long ReturnAll()
    {
        Return();
        return FilePages.Return();
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
