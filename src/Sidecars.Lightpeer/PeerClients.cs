using System.Collections.Concurrent;
using Grpc.Net.Client;
using Sidecars.Contracts.V1;

namespace Sidecars.Lightpeer;

/// <summary>One h2c channel per peer address, reused for every call and closed when the peer goes.</summary>
public sealed class PeerClients : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<GrpcChannel>> _channels = new(StringComparer.Ordinal);
    private readonly TimeSpan _connectTimeout;

    public PeerClients(TimeSpan connectTimeout) => _connectTimeout = connectTimeout;

    public Contracts.V1.Lightpeer.LightpeerClient Get(string address) =>
        new(_channels.GetOrAdd(address, a => new Lazy<GrpcChannel>(() => Create(a))).Value);

    public void Close(string address)
    {
        if (_channels.TryRemove(address, out var channel) && channel.IsValueCreated)
        {
            channel.Value.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var address in _channels.Keys)
        {
            Close(address);
        }
    }

    private GrpcChannel Create(string address) => GrpcChannel.ForAddress(
        new Uri("http://" + address),
        new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = _connectTimeout,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = _connectTimeout,
            },
            MaxRetryAttempts = 0,
        });
}
