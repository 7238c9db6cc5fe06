using System.Net;
using System.Net.Sockets;

namespace Sidecars.Testing.Agent;

/// <summary>
/// A loopback TCP port free at the time of asking, and never one this process was handed before: the kernel may give
/// the same ephemeral port to two listeners opened and closed in a row, and two ports asked for one process (a health
/// port and a token port) must differ.
/// </summary>
public static class FreePort
{
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        while (true)
        {
            int port;
            using (var listener = new TcpListener(IPAddress.Loopback, 0))
            {
                listener.Start();
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }

            lock (Given)
            {
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
