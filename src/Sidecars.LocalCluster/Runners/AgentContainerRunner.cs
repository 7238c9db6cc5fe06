using System.Diagnostics;

namespace Sidecars.LocalCluster;

/// <summary>
/// Runs containers of any image whose repository path ends in <c>sidecars/agent</c> (any registry, tag or digest)
/// as the locally built agent. A path ending in <c>.dll</c> is run through <c>dotnet</c>.
/// </summary>
public sealed class AgentContainerRunner : IContainerRunner
{
    public const string RepositorySuffix = "sidecars/agent";

    private readonly string _agentExecutablePath;

    public AgentContainerRunner(string agentExecutablePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(agentExecutablePath);
        _agentExecutablePath = Path.GetFullPath(agentExecutablePath);
    }

    public string AgentExecutablePath => _agentExecutablePath;

    public bool Matches(string image) => ImageReference.RepositoryEndsWith(image, RepositorySuffix);

    public ProcessStartInfo CreateStartInfo(ContainerLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var runThroughDotnet = _agentExecutablePath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var startInfo = new ProcessStartInfo(runThroughDotnet ? "dotnet" : _agentExecutablePath)
        {
            WorkingDirectory = launch.PodDirectory,
        };
        if (runThroughDotnet)
        {
            startInfo.ArgumentList.Add(_agentExecutablePath);
        }

        // The image's entrypoint is the agent itself; a command override only contributes its arguments.
        foreach (var argument in launch.Command.Skip(1).Concat(launch.Args))
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }
}
