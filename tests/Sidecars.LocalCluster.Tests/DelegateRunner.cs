using System.Diagnostics;

namespace Sidecars.LocalCluster.Tests;

/// <summary>A runner for one test image that starts whatever the test says.</summary>
internal sealed class DelegateRunner(string image, Func<ContainerLaunch, ProcessStartInfo> start) : IContainerRunner
{
    public bool Matches(string image1) => ImageReference.RepositoryOf(image1) == ImageReference.RepositoryOf(image);

    public ProcessStartInfo CreateStartInfo(ContainerLaunch launch) => start(launch);

    public static ProcessStartInfo Command(string fileName, params string[] args)
    {
        var startInfo = new ProcessStartInfo(fileName);
        foreach (var argument in args)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }
}
