using Grpc.Core;
using Sidecars.Contracts.V1;

namespace Sidecars.Networks;

/// <summary>gRPC surface of the network controller.</summary>
internal sealed class NetworksGrpcService(NetworkController controller) : Contracts.V1.Networks.NetworksBase
{
    public override async Task<ListNetworksResponse> ListNetworks(ListNetworksRequest request, ServerCallContext context)
    {
        await controller.WaitForSyncAsync(context.CancellationToken);
        return new ListNetworksResponse { Networks = { controller.Snapshot().Select(ToMessage) } };
    }

    public override async Task<Network> GetNetwork(GetNetworkRequest request, ServerCallContext context)
    {
        await controller.WaitForSyncAsync(context.CancellationToken);
        return controller.Snapshot().FirstOrDefault(n => n.Id == request.Id) is { } network
            ? ToMessage(network)
            : throw new RpcException(new Status(StatusCode.NotFound, $"no pod of network '{request.Id}' is known"));
    }

    private static Network ToMessage(NetworkSnapshot network) => new()
    {
        Id = network.Id,
        Pending = network.Pending,
        Members =
        {
            network.Members.Select(m => new Contracts.V1.NetworkMember
            {
                Namespace = m.Namespace,
                Pod = m.Pod,
                Address = m.Address,
                JoinedAtUnixMs = m.JoinedAt.ToUnixTimeMilliseconds(),
            }),
        },
    };
}
