namespace Sidecars.RealNode.Tests;

/// <summary>
/// A fact on the real-node lane. Skipped, with a one-line reason, only where this machine cannot run the lane at all
/// (not Linux, not root); anything else that is missing fails the test.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RealNodeFactAttribute : FactAttribute
{
    public RealNodeFactAttribute()
    {
        Skip = MissingRequirement();
    }

    private static string? MissingRequirement()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the real node needs Linux";
        }

        // The lane makes network namespaces, bridges, mounts and iptables rules: root only.
        var uid = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        var effective = uid?.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(2);
        return effective == "0" ? null : "the real node needs root (network namespaces, mounts, iptables)";
    }
}
