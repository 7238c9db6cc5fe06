using System.Diagnostics;
using Sidecars.LocalCluster;
using Sidecars.Testing.Tokens;

namespace Sidecars.Testing.UserPods;

/// <summary>
/// Runs containers of the image <c>sidecars-test/token-app</c>: the app writes its token (env TOKEN_KEY / TOKEN_VALUE)
/// into the pod's token directory, and the real pod-agent (<c>--tokens-only</c>) serves it on the pod IP: probes and
/// metrics plain on 9090, the token over TLS on the token port to the reader the CA bundle names.
/// </summary>
public sealed class TokenAppRunner(string agentPath, string readerCaFile) : IContainerRunner
{
    public const string Image = "sidecars-test/token-app:1";

    /// <summary>
    /// The one reader PKI of every test that runs this image: the simulated kubelet starts a container with the first
    /// runner that matches its image, so runners added by several test classes must trust the same reader.
    /// </summary>
    public static TokenReaderPki Pki { get; } = new(Directory.CreateTempSubdirectory("sidecars-token-app-pki-").FullName);

    private readonly AgentContainerRunner _agent = new(agentPath);

    public bool Matches(string image) => ImageReference.RepositoryEndsWith(image, "sidecars-test/token-app");

    public ProcessStartInfo CreateStartInfo(ContainerLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var directory = Path.Combine(launch.PodDirectory, "app-tokens");
        Directory.CreateDirectory(directory);
        if (launch.Environment.TryGetValue("TOKEN_KEY", out var key))
        {
            File.WriteAllText(Path.Combine(directory, key), launch.Environment.GetValueOrDefault("TOKEN_VALUE", string.Empty));
        }

        return _agent.CreateStartInfo(launch with
        {
            Command = [],
            Args = ["pod-agent", "--tokens-only", "--pod-ip", launch.PodIp, "--token-dir", directory, "--token-reader-ca", readerCaFile],
        });
    }
}
