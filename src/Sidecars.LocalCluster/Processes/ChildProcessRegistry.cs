using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Sidecars.LocalCluster;

/// <summary>
/// Every process the control plane or kubelet starts, so none outlives the process that started it. On a normal
/// exit whatever is still registered is killed with its children. For an abrupt death (SIGKILL, a crashed test host)
/// a small shell watchdog waits for this process to disappear and then kills the pids listed in a file.
/// </summary>
internal static class ChildProcessRegistry
{
    private static readonly ConcurrentDictionary<int, Process> Processes = new();
    private static readonly Lock FileGate = new();
    private static readonly string PidFile = Path.Combine(Path.GetTempPath(), $"sidecars-children-{Environment.ProcessId}.pids");
    private static readonly string CleanupFile = Path.Combine(Path.GetTempPath(), $"sidecars-children-{Environment.ProcessId}.dirs");
    private static readonly HashSet<string> Directories = new(StringComparer.Ordinal);
    private static Process? _watchdog;

    static ChildProcessRegistry()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static void Register(Process process)
    {
        Processes[process.Id] = process;
        WritePidFile();
        EnsureWatchdog();
    }

    public static void Unregister(Process process)
    {
        Processes.TryRemove(process.Id, out _);
        WritePidFile();
    }

    /// <summary>A directory the watchdog removes if this process dies without cleaning up.</summary>
    public static void RegisterDirectory(string path)
    {
        lock (FileGate)
        {
            Directories.Add(path);
            WriteDirectories();
        }

        EnsureWatchdog();
    }

    public static void UnregisterDirectory(string path)
    {
        lock (FileGate)
        {
            Directories.Remove(path);
            WriteDirectories();
        }
    }

    private static void WriteDirectories()
    {
        try
        {
            File.WriteAllLines(CleanupFile, Directories);
        }
        catch (IOException)
        {
        }
    }

    private static void WritePidFile()
    {
        lock (FileGate)
        {
            try
            {
                File.WriteAllLines(PidFile, Processes.Keys.Select(id => id.ToString(CultureInfo.InvariantCulture)));
            }
            catch (IOException)
            {
                // Best effort: the ProcessExit handler still covers a normal exit.
            }
        }
    }

    private static void EnsureWatchdog()
    {
        lock (FileGate)
        {
            if (_watchdog is not null || OperatingSystem.IsWindows())
            {
                return;
            }

            var script = "while kill -0 \"$1\" 2>/dev/null; do sleep 2; done; " +
                         "if [ -f \"$2\" ]; then xargs -r kill -9 < \"$2\" 2>/dev/null; rm -f \"$2\"; fi; " +
                         "if [ -f \"$3\" ]; then while IFS= read -r d; do [ -n \"$d\" ] && rm -rf -- \"$d\"; done < \"$3\"; rm -f \"$3\"; fi";
            var startInfo = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            foreach (var argument in new[] { "-c", script, "sidecars-watchdog", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), PidFile, CleanupFile })
            {
                startInfo.ArgumentList.Add(argument);
            }

            _watchdog = Process.Start(startInfo);
        }
    }

    private static void KillAll()
    {
        foreach (var process in Processes.Values)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Exiting or not ours to kill any more.
            }
        }

        lock (FileGate)
        {
            try
            {
                File.Delete(PidFile);
                File.Delete(CleanupFile);
            }
            catch (IOException)
            {
            }
        }

        try
        {
            _watchdog?.Kill();
        }
        catch (InvalidOperationException)
        {
        }
    }
}
