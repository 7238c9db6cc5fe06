namespace Sidecars.RealNode.Tests;

/// <summary>Processes on this machine that run a container's exec hook, found by command line and the pod's env.</summary>
internal static class HookProcesses
{
    /// <summary>pids running exactly <paramref name="command"/> with the injected POD_NAMESPACE and POD_NAME of the pod.</summary>
    public static IReadOnlyList<int> Find(IList<string> command, string ns, string pod)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).TrimEnd('\0').Split('\0');
                if (!arguments.SequenceEqual(command))
                {
                    continue;
                }

                var environment = File.ReadAllText(Path.Combine(directory, "environ")).Split('\0');
                if (environment.Contains("POD_NAMESPACE=" + ns) && environment.Contains("POD_NAME=" + pod))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
