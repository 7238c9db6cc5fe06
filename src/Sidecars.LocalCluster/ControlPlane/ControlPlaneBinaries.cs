namespace Sidecars.LocalCluster;

/// <summary>Where the control-plane executables are; fails with the way to get them when they are missing.</summary>
internal sealed record ControlPlaneBinaries(string ApiServer, string ControllerManager, string Scheduler, string Kubectl, string Etcd)
{
    public static ControlPlaneBinaries Locate(LocalControlPlaneOptions options)
    {
        var bin = options.ResolveBinDirectory();
        string Required(string name)
        {
            var path = Path.Combine(bin, name);
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException(
                    $"{name} not found in {bin}. Build the control plane with tests/controlplane/install.sh, " +
                    $"or point {LocalControlPlaneOptions.BinDirectoryVariable} at a directory holding " +
                    "kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (v1.20).", path);
        }

        var etcd = options.EtcdPath ?? FindOnPath("etcd")
            ?? throw new FileNotFoundException(
                "etcd not found on PATH. Install it with tests/controlplane/install.sh (Debian package etcd-server).");
        return new ControlPlaneBinaries(
            Required("kube-apiserver"), Required("kube-controller-manager"), Required("kube-scheduler"), Required("kubectl"), etcd);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
