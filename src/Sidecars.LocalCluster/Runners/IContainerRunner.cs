using System.Diagnostics;

namespace Sidecars.LocalCluster;

/// <summary>
/// Runs the containers of some images as real local processes. Containers whose image no runner
/// matches are simulated ("virtual") by the kubelet.
/// </summary>
public interface IContainerRunner
{
    /// <summary>Whether this runner executes containers of <paramref name="image"/>.</summary>
    bool Matches(string image);

    /// <summary>
    /// The process to start for a container. The kubelet applies the container's resolved environment on top of the
    /// returned start info and redirects its output to the container log, so a runner only chooses what to execute.
    /// </summary>
    ProcessStartInfo CreateStartInfo(ContainerLaunch launch);
}
