using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>Pod conditions whose lastTransitionTime moves only when their status flips.</summary>
internal sealed class PodConditionTracker
{
    private readonly Dictionary<string, (bool Status, DateTime Since)> _conditions = new(StringComparer.Ordinal);

    public V1PodCondition Get(string type, bool status, DateTime now, string? reason = null)
    {
        if (!_conditions.TryGetValue(type, out var current) || current.Status != status)
        {
            current = (status, now);
            _conditions[type] = current;
        }

        return new V1PodCondition
        {
            Type = type,
            Status = status ? "True" : "False",
            LastTransitionTime = current.Since,
            LastProbeTime = null,
            Reason = status ? null : reason,
        };
    }
}
