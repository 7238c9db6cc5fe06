using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Sidecars.Contracts.V1;

namespace Sidecars.Lightpeer;

/// <summary>gRPC surface of a lightpeer; the behaviour lives in <see cref="LightpeerNode"/>.</summary>
internal sealed class LightpeerService(LightpeerNode node) : Contracts.V1.Lightpeer.LightpeerBase
{
    public override Task<JoinResponse> Join(JoinRequest request, ServerCallContext context) =>
        node.JoinAsync(request.Address, context.CancellationToken);

    public override Task<ExchangeResponse> Exchange(ExchangeRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.From))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "exchange needs the caller's address in 'from'"));
        }

        return Task.FromResult(node.Exchange(request));
    }

    public override Task<PeersResponse> Peers(PeersRequest request, ServerCallContext context)
    {
        var view = node.Peers.View();
        return Task.FromResult(new PeersResponse
        {
            Self = node.Self,
            Incarnation = node.Peers.Incarnation,
            Peers = { view.Peers },
            Changed = view.Changed is { } changed ? Timestamp.FromDateTimeOffset(changed) : null,
        });
    }

    public override Task<HealthResponse> Health(HealthRequest request, ServerCallContext context) =>
        Task.FromResult(new HealthResponse { Self = node.Self, Peers = node.Peers.Count, Incarnation = node.Peers.Incarnation, Member = node.IsMember });

    public override Task<ForgetResponse> Forget(ForgetRequest request, ServerCallContext context) =>
        Task.FromResult(new ForgetResponse { Removed = node.Forget(request.Addresses) });
}
