using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Sidecars.Contracts.V1;

namespace Sidecars.Testing.Lightpeer;

/// <summary>
/// A lightpeer the test steers, served on a given address: it answers health checks and exchanges, holds every Join
/// until <see cref="ReleaseJoins"/> (joins answer at once when not held), and can refuse the first announcements of a
/// join it is sent.
/// </summary>
public sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly TaskCompletionSource _joinArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _joinsReleased = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _announced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;
    private int _joins;
    private int _joinsWaiting;
    private int _announcements;
    private int _refuseAnnouncements;

    private ScriptedPeer(string address, bool holdJoins, int refuseAnnouncements)
    {
        Address = address;
        _refuseAnnouncements = refuseAnnouncements;
        if (!holdJoins)
        {
            _joinsReleased.SetResult();
        }
    }

    public string Address { get; }

    /// <summary>Join calls received so far.</summary>
    public int Joins => Volatile.Read(ref _joins);

    /// <summary>Join calls held right now: arrived, neither released nor given up by their caller.</summary>
    public int JoinsWaiting => Volatile.Read(ref _joinsWaiting);

    /// <summary>Completes when the first Join call arrives.</summary>
    public Task JoinArrived => _joinArrived.Task;

    /// <summary>Announcements of a join received so far, refused ones included.</summary>
    public int Announcements => Volatile.Read(ref _announcements);

    /// <summary>Completes with the joiner named by the first announcement accepted.</summary>
    public Task<string> Announced => _announced.Task;

    public static async Task<ScriptedPeer> StartAsync(string ip, int port, bool holdJoins, int refuseAnnouncements = 0)
    {
        var peer = new ScriptedPeer($"{ip}:{port}", holdJoins, refuseAnnouncements);
        peer._app = await TestPeerHost.StartAsync<Service, ScriptedPeer>(ip, port, peer);
        return peer;
    }

    public void ReleaseJoins() => _joinsReleased.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        ReleaseJoins();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private sealed class Service(ScriptedPeer peer) : Contracts.V1.Lightpeer.LightpeerBase
    {
        public override async Task<JoinResponse> Join(JoinRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref peer._joins);
            Interlocked.Increment(ref peer._joinsWaiting);
            peer._joinArrived.TrySetResult();
            try
            {
                await peer._joinsReleased.Task.WaitAsync(context.CancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref peer._joinsWaiting);
            }

            return new JoinResponse { Joined = true };
        }

        public override Task<HealthResponse> Health(HealthRequest request, ServerCallContext context) =>
            Task.FromResult(new HealthResponse { Self = peer.Address });

        public override Task<ExchangeResponse> Exchange(ExchangeRequest request, ServerCallContext context)
        {
            if (!string.IsNullOrEmpty(request.Joined))
            {
                Interlocked.Increment(ref peer._announcements);
                if (Interlocked.Decrement(ref peer._refuseAnnouncements) >= 0)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "too busy to take an announcement"));
                }

                peer._announced.TrySetResult(request.Joined);
            }

            return Task.FromResult(new ExchangeResponse { Self = peer.Address });
        }

        public override Task<PeersResponse> Peers(PeersRequest request, ServerCallContext context) =>
            Task.FromResult(new PeersResponse());

        public override Task<ForgetResponse> Forget(ForgetRequest request, ServerCallContext context) =>
            Task.FromResult(new ForgetResponse());
    }
}
