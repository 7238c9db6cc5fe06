using Grpc.Core;
using Sidecars.Contracts.V1;

namespace Sidecars.Clusters;

/// <summary>gRPC surface of the clusters capability: translates messages and maps results to status codes.</summary>
internal sealed class ClustersGrpcService(ClusterManager manager) : Contracts.V1.Clusters.ClustersBase
{
    public override async Task<Cluster> CreateCluster(CreateClusterRequest request, ServerCallContext context) =>
        Answer(await manager.CreateAsync(request, context.CancellationToken));

    public override async Task<DeleteClusterResponse> DeleteCluster(DeleteClusterRequest request, ServerCallContext context)
    {
        var result = await manager.DeleteAsync(request.Name, request.NoWait, context.CancellationToken);
        Throw(result);
        return new DeleteClusterResponse { Name = request.Name, Gone = !request.NoWait };
    }

    public override async Task<Cluster> GetCluster(GetClusterRequest request, ServerCallContext context)
    {
        await manager.WaitForSyncAsync(context.CancellationToken);
        return manager.Machine.Get(request.Name) is { } status
            ? ToMessage(status)
            : throw new RpcException(new Status(StatusCode.NotFound, $"cluster {request.Name} does not exist"));
    }

    public override async Task<ListClustersResponse> ListClusters(ListClustersRequest request, ServerCallContext context)
    {
        await manager.WaitForSyncAsync(context.CancellationToken);
        return new ListClustersResponse { Clusters = { manager.Machine.List().Select(ToMessage) } };
    }

    public override async Task WatchCluster(WatchClusterRequest request, IServerStreamWriter<Cluster> responseStream, ServerCallContext context)
    {
        await manager.WaitForSyncAsync(context.CancellationToken);
        using var subscription = manager.Machine.Subscribe(request.Name)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"cluster {request.Name} does not exist"));
        await foreach (var status in subscription.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(ToMessage(status), context.CancellationToken);
        }
    }

    internal static Cluster ToMessage(ClusterStatus status) => new()
    {
        Name = status.Name,
        Namespace = status.Namespace,
        State = status.Phase switch
        {
            ClusterPhase.CreateInProgress => ClusterState.CreateInProgress,
            ClusterPhase.Available => ClusterState.Available,
            ClusterPhase.DeleteInProgress => ClusterState.DeleteInProgress,
            _ => ClusterState.Failed,
        },
        Replicas = status.Replicas,
        ReadyReplicas = status.ReadyReplicas,
        AvailableReplicas = status.AvailableReplicas,
        Pods = status.Pods,
        Reason = status.Reason,
        Message = status.Message,
    };

    private static Cluster Answer(ClusterResult result)
    {
        Throw(result);
        return ToMessage(result.Status!);
    }

    private static void Throw(ClusterResult result)
    {
        if (result.Code == ClusterResultCode.Ok)
        {
            return;
        }

        var code = result.Code switch
        {
            ClusterResultCode.InvalidArgument => StatusCode.InvalidArgument,
            ClusterResultCode.NotFound => StatusCode.NotFound,
            ClusterResultCode.FailedPrecondition => StatusCode.FailedPrecondition,
            ClusterResultCode.DeadlineExceeded => StatusCode.DeadlineExceeded,
            ClusterResultCode.Aborted => StatusCode.Aborted,
            _ => StatusCode.Unavailable,
        };
        var trailers = new Metadata();
        if (result.Status is { } status)
        {
            trailers.Add("cluster-state", ToMessage(status).State.ToString());
            trailers.Add("cluster-reason", status.Reason);
        }

        throw new RpcException(new Status(code, result.Message), trailers);
    }
}
