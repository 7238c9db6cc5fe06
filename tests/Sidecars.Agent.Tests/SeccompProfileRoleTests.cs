using System.Diagnostics;
using Sidecars.Seccomp;
using Sidecars.Testing;

namespace Sidecars.Agent.Tests;

/// <summary>The agent's seccomp-profile role as the node-profiles DaemonSet runs it, on a directory of this machine.</summary>
public sealed class SeccompProfileRoleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sidecars-seccomp-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task It_writes_the_profile_puts_it_back_when_it_is_removed_or_changed_and_exits_cleanly_on_SIGTERM()
    {
        var directory = Path.Combine(_root, "sidecars");
        var profile = Path.Combine(directory, SidecarsSeccompProfile.FileName);
        using var process = AgentProcessTests.StartAgent(["seccomp-profile", "--into", directory, "--check-seconds", "1"]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await Eventually.UntilAsync(() => Task.FromResult(Holds(profile)), "the profile written", TimeSpan.FromSeconds(30));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(profile));

            File.Delete(profile);
            await Eventually.UntilAsync(() => Task.FromResult(Holds(profile)), "the removed profile written again", TimeSpan.FromSeconds(30));

            await File.WriteAllTextAsync(profile, """{"defaultAction":"SCMP_ACT_ALLOW"}""");
            await Eventually.UntilAsync(() => Task.FromResult(Holds(profile)), "the changed profile written again", TimeSpan.FromSeconds(30));
            Assert.Equal([SidecarsSeccompProfile.FileName], Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName));

            using (var kill = Process.Start("kill", ["-TERM", AgentProcessTests.Text(process.Id)])!)
            {
                await kill.WaitForExitAsync();
            }

            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(bound.Token);
            Assert.True(process.ExitCode == 0, await stderr);
            Assert.Contains("Seccomp profile written to " + profile, await stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    [Theory]
    [InlineData(new string[] { }, 2)]
    [InlineData(new[] { "--into", "relative/dir" }, 2)]
    [InlineData(new[] { "--into", "/tmp/x", "--check-seconds", "0" }, 2)]
    public async Task Bad_arguments_exit_2_with_the_usage(string[] args, int exitCode)
    {
        using var process = AgentProcessTests.StartAgent(["seccomp-profile", .. args]);
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(exitCode, process.ExitCode);
        Assert.Contains("usage: sidecars-agent seccomp-profile --into DIR", await stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_it_cannot_write_exits_1_naming_the_file()
    {
        var blocked = Path.Combine(_root, "file");
        await File.WriteAllTextAsync(blocked, "not a directory");
        using var process = AgentProcessTests.StartAgent(["seccomp-profile", "--into", Path.Combine(blocked, "sidecars")]);
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(1, process.ExitCode);
        Assert.Contains($"cannot write {Path.Combine(blocked, "sidecars", SidecarsSeccompProfile.FileName)}", await stderr, StringComparison.Ordinal);
    }

    private static bool Holds(string path)
    {
        try
        {
            return File.ReadAllBytes(path).AsSpan().SequenceEqual(SidecarsSeccompProfile.Content.Span);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
