using Microsoft.Extensions.Logging.Abstractions;
using Sidecars.Seccomp;

namespace Sidecars.Seccomp.Tests;

public sealed class ProfileInstallerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sidecars-seccomp-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static ProfileInstaller Installer(string directory) =>
        new(directory, ProfileInstaller.CheckPeriod, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public void A_missing_profile_is_written_with_its_directory_and_a_present_one_left_alone()
    {
        var installer = Installer(Path.Combine(_root, "seccomp", "sidecars"));

        Assert.True(installer.EnsureInstalled());
        Assert.Equal(SidecarsSeccompProfile.Content.ToArray(), File.ReadAllBytes(installer.ProfilePath));
        var written = File.GetLastWriteTimeUtc(installer.ProfilePath);

        Assert.False(installer.EnsureInstalled());
        Assert.Equal(written, File.GetLastWriteTimeUtc(installer.ProfilePath));
    }

    [Fact]
    public void A_different_profile_is_replaced_whole_leaving_no_staging_file()
    {
        var directory = Path.Combine(_root, "sidecars");
        var installer = Installer(directory);
        Directory.CreateDirectory(directory);
        File.WriteAllText(installer.ProfilePath, """{"defaultAction":"SCMP_ACT_ALLOW"}""");
        using var reader = File.OpenRead(installer.ProfilePath);

        Assert.True(installer.EnsureInstalled());

        Assert.Equal(SidecarsSeccompProfile.Content.ToArray(), File.ReadAllBytes(installer.ProfilePath));
        Assert.Equal([SidecarsSeccompProfile.FileName], Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName));
        // A runtime reading the old file as it is replaced reads the old file to its end, not a mix.
        using var old = new StreamReader(reader);
        Assert.Equal("""{"defaultAction":"SCMP_ACT_ALLOW"}""", old.ReadToEnd());
    }
}
