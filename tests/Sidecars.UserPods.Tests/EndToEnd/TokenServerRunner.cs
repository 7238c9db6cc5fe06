using System.Diagnostics;
using Sidecars.LocalCluster;

namespace Sidecars.UserPods.Tests.EndToEnd;

/// <summary>
/// Runs containers of the image <c>sidecars-test/token-server</c> as a small local HTTP server on the pod IP that
/// serves the token the container "writes" (env TOKEN_KEY / TOKEN_VALUE) as <c>GET /token/&lt;key&gt;</c> on port
/// 9090, the way the pod-agent serves the shared token volume.
/// </summary>
public sealed class TokenServerRunner : IContainerRunner
{
    public const string Image = "sidecars-test/token-server:1";

    private const string Script = """
        import http.server, os, sys
        ip, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        key, value = os.environ.get("TOKEN_KEY"), os.environ.get("TOKEN_VALUE")
        os.makedirs(os.path.join(root, "token"), exist_ok=True)
        if key:
            with open(os.path.join(root, "token", key), "w") as f:
                f.write(value or "")
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=root, **k)
        http.server.ThreadingHTTPServer((ip, port), handler).serve_forever()
        """;

    public bool Matches(string image) => ImageReference.RepositoryEndsWith(image, "sidecars-test/token-server");

    public ProcessStartInfo CreateStartInfo(ContainerLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var start = new ProcessStartInfo("python3") { WorkingDirectory = launch.PodDirectory };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        start.ArgumentList.Add(launch.PodIp);
        start.ArgumentList.Add("9090");
        start.ArgumentList.Add(Path.Combine(launch.PodDirectory, "token-www"));
        return start;
    }
}
