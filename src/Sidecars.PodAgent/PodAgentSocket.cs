using System.Net.Sockets;
using Grpc.Net.Client;

namespace Sidecars.PodAgent;

/// <summary>Client side of the pod socket, for apps (and tests) in the pod.</summary>
public static class PodAgentSocket
{
    /// <summary>A gRPC channel to the pod-agent listening on <paramref name="socketPath"/>.</summary>
    public static GrpcChannel CreateChannel(string socketPath)
    {
        var endpoint = new UnixDomainSocketEndPoint(socketPath);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(endpoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }
}
