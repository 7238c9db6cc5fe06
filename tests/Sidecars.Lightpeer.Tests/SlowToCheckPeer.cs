using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Sidecars.Contracts.V1;
using Sidecars.Testing.Lightpeer;

namespace Sidecars.Lightpeer.Tests;

/// <summary>
/// A peer on a loaded node: every health check of it fails, but while <see cref="Gossiping"/> it calls the checker
/// with an exchange first, as its own gossip would get through.
/// </summary>
internal sealed class SlowToCheckPeer : IAsyncDisposable
{
    private readonly GrpcChannel _toChecker;
    private WebApplication? _app;
    private int _healthChecks;
    private volatile bool _gossiping = true;

    private SlowToCheckPeer(string address, string checker)
    {
        Address = address;
        _toChecker = GrpcChannel.ForAddress("http://" + checker);
    }

    public string Address { get; }

    public bool Gossiping
    {
        get => _gossiping;
        set => _gossiping = value;
    }

    public int HealthChecks => Volatile.Read(ref _healthChecks);

    public static async Task<SlowToCheckPeer> StartAsync(string checker)
    {
        var options = Peers.Options();
        var peer = new SlowToCheckPeer($"{options.Address}:{options.Port}", checker);
        peer._app = await TestPeerHost.StartAsync<Service, SlowToCheckPeer>(options.Address, options.Port, peer);
        return peer;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _toChecker.Dispose();
    }

    private sealed class Service(SlowToCheckPeer peer) : Contracts.V1.Lightpeer.LightpeerBase
    {
        public override Task<ExchangeResponse> Exchange(ExchangeRequest request, ServerCallContext context) =>
            Task.FromResult(new ExchangeResponse { Self = peer.Address });

        public override async Task<HealthResponse> Health(HealthRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref peer._healthChecks);
            if (peer.Gossiping)
            {
                await new Contracts.V1.Lightpeer.LightpeerClient(peer._toChecker).ExchangeAsync(
                    new ExchangeRequest { From = peer.Address }, cancellationToken: context.CancellationToken);
            }

            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "too busy to answer a health check"));
        }
    }
}
