using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Sidecars.Contracts.V1;

namespace Sidecars.PodAgent;

/// <summary>The <c>sidecars.v1.PodAgent</c> service on the pod socket.</summary>
internal sealed class PodAgentGrpcService : Contracts.V1.PodAgent.PodAgentBase
{
    public const int MaxSignBytes = 1 << 20;
    private const string Algorithm = "ecdsa-p256-sha256";

    private readonly BlessingHolder _holder;
    private readonly IHostApplicationLifetime _lifetime;

    public PodAgentGrpcService(BlessingHolder holder, IHostApplicationLifetime lifetime)
    {
        _holder = holder;
        _lifetime = lifetime;
    }

    public override Task<Blessing> GetBlessings(GetBlessingsRequest request, ServerCallContext context)
    {
        PodAgentMetrics.SocketCalls.WithLabels("GetBlessings").Inc();
        return Task.FromResult(RequireCurrent());
    }

    public override Task<SignResponse> Sign(SignRequest request, ServerCallContext context)
    {
        PodAgentMetrics.SocketCalls.WithLabels("Sign").Inc();
        if (request.Data.Length > MaxSignBytes)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"data must be at most {MaxSignBytes} bytes"));
        }

        var blessing = RequireCurrent();
        var signature = _holder.Sign(request.Data.Span);
        return Task.FromResult(new SignResponse
        {
            Signature = UnsafeByteOperations.UnsafeWrap(signature),
            Algorithm = Algorithm,
            Blessing = blessing.Name,
        });
    }

    public override Task<TrustRoots> GetTrustRoots(GetTrustRootsRequest request, ServerCallContext context)
    {
        PodAgentMetrics.SocketCalls.WithLabels("GetTrustRoots").Inc();
        RequireCurrent();
        return Task.FromResult(_holder.TrustRoots);
    }

    public override async Task WatchBlessings(WatchBlessingsRequest request, IServerStreamWriter<Blessing> responseStream, ServerCallContext context)
    {
        PodAgentMetrics.SocketCalls.WithLabels("WatchBlessings").Inc();
        // The stream ends when the caller leaves or the agent stops.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _lifetime.ApplicationStopping);
        var seen = 0L;
        while (!stop.IsCancellationRequested)
        {
            var generation = _holder.Generation;
            if (generation != seen && _holder.Current is { } current)
            {
                await responseStream.WriteAsync(current, stop.Token);
                seen = generation;
            }

            try
            {
                await _holder.WaitForChangeAsync(seen, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private Blessing RequireCurrent() =>
        _holder.IsValid && _holder.Current is { } current
            ? current
            : throw new RpcException(new Status(StatusCode.Unavailable, "the pod-agent holds no valid blessing yet"));
}
