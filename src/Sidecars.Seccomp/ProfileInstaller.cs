using Microsoft.Extensions.Logging;

namespace Sidecars.Seccomp;

/// <summary>
/// Keeps Sidecars' seccomp profile in one directory of a node's kubelet seccomp root: writes it when it is missing
/// or differs, and checks again every <paramref name="checkPeriod"/> until stopped.
/// </summary>
/// <remarks>
/// The container runtime reads the file when it creates a sidecar container, so the file is replaced whole (written
/// beside it, then renamed over it): a reader sees the old profile or the new one, never half of one.
/// </remarks>
public sealed partial class ProfileInstaller(string directory, TimeSpan checkPeriod, TimeProvider time, ILogger logger)
{
    /// <summary>How often the file is checked again by default (someone may remove it, or an older version write over it).</summary>
    public static readonly TimeSpan CheckPeriod = TimeSpan.FromMinutes(1);

    /// <summary>The profile's path on the node, as this process sees it.</summary>
    public string ProfilePath { get; } = Path.Combine(directory, SidecarsSeccompProfile.FileName);

    /// <summary>Writes the profile unless the file holds it already; returns whether it wrote.</summary>
    /// <exception cref="IOException">The directory cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory cannot be written.</exception>
    public bool EnsureInstalled()
    {
        var profile = SidecarsSeccompProfile.Content.Span;
        if (File.Exists(ProfilePath) && File.ReadAllBytes(ProfilePath).AsSpan().SequenceEqual(profile))
        {
            return false;
        }

        Directory.CreateDirectory(directory);
        var staging = Path.Combine(directory, $".{SidecarsSeccompProfile.FileName}.{Environment.ProcessId}");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        using (var file = new FileStream(staging, options))
        {
            file.Write(profile);
            file.Flush(flushToDisk: true);
        }

        File.Move(staging, ProfilePath, overwrite: true);
        LogInstalled(logger, ProfilePath, profile.Length);
        return true;
    }

    /// <summary>Installs the profile now (failing if it cannot), then keeps it until <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!EnsureInstalled())
        {
            LogPresent(logger, ProfilePath);
        }

        using var timer = new PeriodicTimer(checkPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    EnsureInstalled();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Pods started meanwhile keep the file as it was; the next check tries again.
                    LogWriteFailed(logger, ProfilePath, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Seccomp profile written to {Path} ({Bytes} bytes)")]
    private static partial void LogInstalled(ILogger logger, string path, int bytes);

    [LoggerMessage(2, LogLevel.Information, "Seccomp profile already in place at {Path}")]
    private static partial void LogPresent(ILogger logger, string path);

    [LoggerMessage(3, LogLevel.Warning, "Seccomp profile could not be written to {Path}: {Reason}; trying again at the next check")]
    private static partial void LogWriteFailed(ILogger logger, string path, string reason);
}
