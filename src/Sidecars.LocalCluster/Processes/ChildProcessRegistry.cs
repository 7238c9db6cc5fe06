using System.Collections.Concurrent;
using System.Diagnostics;

namespace Sidecars.LocalCluster;

/// <summary>
/// Every process the control plane or kubelet starts, so none outlives the process that started it:
/// on process exit whatever is still registered is killed with its children.
/// </summary>
internal static class ChildProcessRegistry
{
    private static readonly ConcurrentDictionary<int, Process> Processes = new();

    static ChildProcessRegistry()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static void Register(Process process) => Processes[process.Id] = process;

    public static void Unregister(Process process) => Processes.TryRemove(process.Id, out _);

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
    }
}
