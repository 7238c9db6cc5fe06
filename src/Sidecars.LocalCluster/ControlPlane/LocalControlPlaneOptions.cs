using Microsoft.Extensions.Logging;

namespace Sidecars.LocalCluster;

/// <summary>How to start a <see cref="LocalControlPlane"/>.</summary>
public sealed class LocalControlPlaneOptions
{
    public const string BinDirectoryVariable = "SIDECARS_K8S_BIN";

    /// <summary>
    /// Directory with kube-apiserver, kube-controller-manager, kube-scheduler and kubectl. Defaults to
    /// <c>$SIDECARS_K8S_BIN</c>, else <c>~/.cache/sidecars/k8s-1.20.2/bin</c> (built by tests/controlplane/install.sh).
    /// </summary>
    public string? BinDirectory { get; set; }

    /// <summary>The etcd executable; defaults to <c>etcd</c> on PATH.</summary>
    public string? EtcdPath { get; set; }

    /// <summary>Parent of the per-run state directory; defaults to the system temp directory.</summary>
    public string? StateRoot { get; set; }

    /// <summary>Keep the state directory (certificates, logs, pod directories) after disposal, for diagnostics.</summary>
    public bool KeepStateDirectory { get; set; }

    /// <summary>Keep etcd's data on tmpfs (/dev/shm) when available; etcd fsyncs a lot and nothing here must survive.</summary>
    public bool EtcdOnTmpfs { get; set; } = true;

    /// <summary>How long each component may take to become ready.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Users with static tokens, all in system:masters; <c>admin</c> is always present.</summary>
    public IList<string> Users { get; } = ["admin", "alice", "bob"];

    /// <summary>Extra kube-apiserver flags (for example <c>--v=4</c>).</summary>
    public IList<string> ExtraApiServerArgs { get; } = [];

    /// <summary>Runners for containers that run as real processes (see <see cref="AgentContainerRunner"/>).</summary>
    public IList<IContainerRunner> Runners { get; } = [];

    /// <summary>Settings of the simulated kubelet.</summary>
    public SimulatedKubeletOptions Kubelet { get; set; } = new();

    public ILoggerFactory? LoggerFactory { get; set; }

    internal string ResolveBinDirectory()
    {
        if (!string.IsNullOrWhiteSpace(BinDirectory))
        {
            return BinDirectory;
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(BinDirectoryVariable);
        return !string.IsNullOrWhiteSpace(fromEnvironment)
            ? fromEnvironment
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sidecars", "k8s-1.20.2", "bin");
    }
}
