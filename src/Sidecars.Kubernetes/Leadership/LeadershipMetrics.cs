using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Sidecars.Kubernetes.Leadership;

/// <summary><c>sidecars_leader{component}</c>: 1 on the replica that leads the component, 0 on the others.</summary>
internal static class LeadershipMetrics
{
    public const string MeterName = "Sidecars.Leadership";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<LeaseElector, bool> Electors = new();

    private static readonly ObservableGauge<int> Leader = Meter.CreateObservableGauge(
        "sidecars_leader",
        () => Electors.Keys.Select(e => new Measurement<int>(e.IsLeader ? 1 : 0, new KeyValuePair<string, object?>("component", e.Component))),
        description: "1 when this replica leads the component (holds its Lease), else 0.");

    public static void Track(LeaseElector elector)
    {
        _ = Leader;
        Electors[elector] = true;
    }

    public static void Untrack(LeaseElector elector) => Electors.TryRemove(elector, out _);
}
