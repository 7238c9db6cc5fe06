using System.Collections.Concurrent;
using Grpc.Net.Client;
using Sidecars.Contracts.V1;

namespace Sidecars.Lightpeer;

/// <summary>
/// One channel per peer address, reused for every call and closed when the peer goes: over mutual TLS with the
/// <see cref="PeerTls"/> credentials to a peer that serves TLS, over h2c to one that does not.
/// </summary>
public sealed class PeerClients : IDisposable
{
    private readonly ConcurrentDictionary<(string Address, bool Secure), Lazy<GrpcChannel>> _channels = new();
    private readonly TimeSpan _connectTimeout;
    private readonly PeerTls? _tls;

    /// <param name="tls">The credentials to speak TLS with; without them every peer is dialled over h2c.</param>
    public PeerClients(TimeSpan connectTimeout, PeerTls? tls = null)
    {
        _connectTimeout = connectTimeout;
        _tls = tls;
    }

    /// <summary>A client for the peer: over TLS whenever credentials were given.</summary>
    public Contracts.V1.Lightpeer.LightpeerClient Get(string address) => Get(address, _tls is not null);

    /// <summary>A client for the peer over TLS (<paramref name="secure"/>, which needs credentials) or over h2c.</summary>
    public Contracts.V1.Lightpeer.LightpeerClient Get(string address, bool secure)
    {
        if (secure && _tls is null)
        {
            throw new InvalidOperationException($"peer {address} serves TLS but no peer credentials were given");
        }

        return new(_channels.GetOrAdd((address, secure), key => new Lazy<GrpcChannel>(() => Create(key.Address, key.Secure))).Value);
    }

    public void Close(string address)
    {
        foreach (var secure in (bool[])[false, true])
        {
            if (_channels.TryRemove((address, secure), out var channel) && channel.IsValueCreated)
            {
                channel.Value.Dispose();
            }
        }
    }

    public void Dispose()
    {
        foreach (var (address, _) in _channels.Keys)
        {
            Close(address);
        }
    }

    private GrpcChannel Create(string address, bool secure)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _connectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = _connectTimeout,
        };
        if (secure)
        {
            handler.SslOptions = _tls!.ClientOptions();
        }

        return GrpcChannel.ForAddress(
            new Uri((secure ? "https://" : "http://") + address),
            new GrpcChannelOptions { HttpHandler = handler, MaxRetryAttempts = 0 });
    }
}
