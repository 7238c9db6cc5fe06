using Microsoft.Extensions.Logging;

namespace Sidecars.Seccomp;

/// <summary>
/// Entry point of the agent's <c>seccomp-profile</c> role: the node-profiles DaemonSet runs it on every node with the
/// directory of the kubelet's seccomp root that Sidecars' seccomp profile belongs in.
/// </summary>
public static class SeccompProfileCommand
{
    public const string Usage =
        "seccomp-profile --into DIR [--check-seconds N]   keeps Sidecars' seccomp profile in DIR (the kubelet's <seccomp root>/sidecars), checked every N s (60)";

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var (directory, period) = args switch
        {
            ["--into", var into] => (into, ProfileInstaller.CheckPeriod),
            ["--into", var into, "--check-seconds", var seconds] when int.TryParse(seconds, out var s) && s is > 0 and <= 86400 =>
                (into, TimeSpan.FromSeconds(s)),
            _ => (string.Empty, TimeSpan.Zero),
        };
        if (!Path.IsPathRooted(directory))
        {
            await Console.Error.WriteLineAsync(
                $"seccomp-profile: expected --into and an absolute directory, then optionally --check-seconds 1-86400\nusage: sidecars-agent {Usage}");
            return 2;
        }

        using var loggers = LoggerFactory.Create(builder => builder.AddSimpleConsole(o => o.SingleLine = true));
        var installer = new ProfileInstaller(directory, period, TimeProvider.System, loggers.CreateLogger("Sidecars.Seccomp"));
        try
        {
            await installer.RunAsync(cancellationToken);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"seccomp-profile: cannot write {installer.ProfilePath}: {e.Message}");
            return 1;
        }
    }
}
