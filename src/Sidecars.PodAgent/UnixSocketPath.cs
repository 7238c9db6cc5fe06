using System.Net.Sockets;
using System.Text;

namespace Sidecars.PodAgent;

/// <summary>The endpoint of the pod socket, also when its path is longer than a socket address can hold.</summary>
internal static class UnixSocketPath
{
    /// <summary>sun_path holds 108 bytes on Linux, the terminating NUL included.</summary>
    private const int MaxPathBytes = 107;

    /// <summary>
    /// The path itself when it fits; otherwise the agent moves its working directory to the socket's directory and
    /// binds by file name (volume directories outside a real kubelet can be deeper than sun_path allows).
    /// </summary>
    public static UnixDomainSocketEndPoint EndPointFor(string path)
    {
        if (Encoding.UTF8.GetByteCount(path) <= MaxPathBytes)
        {
            return new UnixDomainSocketEndPoint(path);
        }

        var full = Path.GetFullPath(path);
        Directory.SetCurrentDirectory(Path.GetDirectoryName(full)!);
        return new UnixDomainSocketEndPoint(Path.GetFileName(full));
    }
}
