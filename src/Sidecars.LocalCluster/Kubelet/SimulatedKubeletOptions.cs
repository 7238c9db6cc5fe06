namespace Sidecars.LocalCluster;

/// <summary>Settings of the <see cref="SimulatedKubelet"/>.</summary>
public sealed class SimulatedKubeletOptions
{
    public string NodeName { get; set; } = "sim-node-1";

    /// <summary>Where per-pod directories go; the control plane puts them in its state directory.</summary>
    public string? PodRoot { get; set; }

    public IList<IContainerRunner> Runners { get; } = [];

    /// <summary>How often the Node's Ready condition and its Lease are renewed.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Upper bound on a probe's period. Probes run at their own periodSeconds when shorter; the bound keeps tests from
    /// waiting the 10 s default between a process becoming ready and the pod reporting it. Null honours the spec.
    /// </summary>
    public TimeSpan? MaxProbePeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound on the grace a terminating pod's processes get between SIGTERM and kill.</summary>
    public TimeSpan MaxTerminationGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First delay before restarting an exited container; doubles per restart up to <see cref="MaxRestartBackoff"/>.</summary>
    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often a running pod's Secret and ConfigMap volumes are brought up to date with their objects. A real kubelet
    /// does it on its pod sync (every minute, plus its cache's lifetime); kept short so tests see a change quickly.
    /// </summary>
    public TimeSpan VolumeSyncPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Second octet pod IPs start from (127.N.0.1); random when unset so concurrent runs rarely overlap.</summary>
    public byte? PodIpStartBlock { get; set; }
}
