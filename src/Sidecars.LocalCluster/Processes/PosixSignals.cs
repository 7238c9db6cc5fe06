using System.Runtime.InteropServices;

namespace Sidecars.LocalCluster;

/// <summary>Sends SIGTERM, which <see cref="System.Diagnostics.Process"/> cannot.</summary>
internal static partial class PosixSignals
{
    private const int SigTerm = 15;

    public static bool Terminate(int processId) => OperatingSystem.IsWindows() || Kill(processId, SigTerm) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
