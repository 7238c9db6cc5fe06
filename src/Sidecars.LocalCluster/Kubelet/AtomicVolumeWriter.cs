using System.Globalization;
using System.Runtime.InteropServices;

namespace Sidecars.LocalCluster;

/// <summary>
/// Writes the files of a Secret or ConfigMap volume the way the kubelet's atomic writer does: the files go into a fresh
/// hidden directory <c>..&lt;timestamp&gt;</c>, the link <c>..data</c> is switched to it with one rename, and each
/// visible name is a link through <c>..data</c>. A reader that opens <c>ca.crt</c> sees the old set of files or the
/// new one, never a mix or a partly written file; the previous directory is removed after the switch.
/// </summary>
internal static partial class AtomicVolumeWriter
{
    public const string DataLink = "..data";

    /// <summary>Makes <paramref name="directory"/> hold exactly <paramref name="files"/> (relative path → bytes); false when it already did.</summary>
    public static async Task<bool> WriteAsync(string directory, IReadOnlyDictionary<string, byte[]> files, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var dataLink = Path.Combine(directory, DataLink);
        var previous = Directory.Exists(dataLink) ? new DirectoryInfo(dataLink).LinkTarget : null;
        if (previous is not null && Matches(Path.Combine(directory, previous), files))
        {
            return false;
        }

        var name = ".." + DateTime.UtcNow.ToString("yyyy_MM_dd_HH_mm_ss.fffffff", CultureInfo.InvariantCulture);
        var target = Path.Combine(directory, name);
        Directory.CreateDirectory(target);
        foreach (var (path, bytes) in files)
        {
            var file = Path.Combine(target, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllBytesAsync(file, bytes, ct);
        }

        // Visible names first (they dangle only for names that are new), then the one atomic switch.
        var visible = files.Keys.Select(p => p.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var top in visible)
        {
            var link = Path.Combine(directory, top);
            if (!Path.Exists(link) && new FileInfo(link).LinkTarget is null)
            {
                File.CreateSymbolicLink(link, Path.Combine(DataLink, top));
            }
        }

        var temporary = Path.Combine(directory, "..data_tmp");
        File.Delete(temporary);
        File.CreateSymbolicLink(temporary, name);
        if (Rename(temporary, dataLink) != 0)
        {
            throw new IOException($"switching {dataLink} to {name} failed (errno {Marshal.GetLastPInvokeError()})");
        }

        // Names the new payload no longer has go, and so does the previous payload.
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            var entryName = Path.GetFileName(entry);
            if (!entryName.StartsWith("..", StringComparison.Ordinal) && !visible.Contains(entryName))
            {
                File.Delete(entry);
            }
        }

        if (previous is not null && previous != name)
        {
            Directory.Delete(Path.Combine(directory, previous), recursive: true);
        }

        return true;
    }

    private static bool Matches(string payload, IReadOnlyDictionary<string, byte[]> files)
    {
        var present = Directory.EnumerateFiles(payload, "*", SearchOption.AllDirectories).ToList();
        return present.Count == files.Count && files.All(f =>
        {
            var file = Path.Combine(payload, f.Key);
            return File.Exists(file) && File.ReadAllBytes(file).AsSpan().SequenceEqual(f.Value);
        });
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string from, string to);
}
