using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Sidecars.Contracts.V1;

namespace Sidecars.PodAgent;

/// <summary>The <c>sidecars.v1.PodAgent</c> service on the pod socket.</summary>
internal sealed class PodAgentGrpcService : Contracts.V1.PodAgent.PodAgentBase
{
    public const int MaxSignBytes = PodAgentSigner.MaxSignBytes;

    /// <summary>The largest request the socket reads: the bytes to sign and the framing of a full batch around them.</summary>
    public const int MaxRequestBytes = MaxSignBytes + 16 * 1024;

    private const string Algorithm = "ecdsa-p256-sha256";

    /// <summary>Below this many payloads per core a batch is signed on one thread: a signature (about 25 µs) is then
    /// not worth the hand-over.</summary>
    private const int MinPayloadsPerCore = 8;

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
        return Task.FromResult(SignOne(request));
    }

    public override async Task SignStream(IAsyncStreamReader<SignRequest> requestStream, IServerStreamWriter<SignResponse> responseStream, ServerCallContext context)
    {
        PodAgentMetrics.SocketCalls.WithLabels("SignStream").Inc();
        // The stream ends when the caller completes it or the agent stops; the caller then opens a new one.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _lifetime.ApplicationStopping);
        try
        {
            while (await requestStream.MoveNext(stop.Token))
            {
                var response = SignOne(requestStream.Current);
                PodAgentMetrics.StreamedRequests.Inc();
                PodAgentMetrics.StreamedSignatures.Inc(Math.Max(1, response.BatchSignatures.Count));
                await responseStream.WriteAsync(response, stop.Token);
            }
        }
        catch (OperationCanceledException) when (_lifetime.ApplicationStopping.IsCancellationRequested)
        {
        }
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

    /// <summary>Signs the request's data, or each payload of its batch; refuses the whole request if any part is out of bounds.</summary>
    private SignResponse SignOne(SignRequest request)
    {
        var batch = request.Batch;
        if (batch.Count == 0)
        {
            if (request.Data.Length > MaxSignBytes)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"data must be at most {MaxSignBytes} bytes"));
            }
        }
        else
        {
            CheckBatch(request);
        }

        var blessing = RequireCurrent();
        var response = new SignResponse { Algorithm = Algorithm, Blessing = blessing.Name, Id = request.Id };
        if (batch.Count == 0)
        {
            response.Signature = UnsafeByteOperations.UnsafeWrap(_holder.Sign(request.Data.Span));
            return response;
        }

        response.BatchSignatures.AddRange(SignAll(batch));
        return response;
    }

    /// <summary>
    /// A batch's signatures, in its order. A large batch is split among the cores the agent may use (the CPU limit counts),
    /// so one caller's batch is not bound to one core.
    /// </summary>
    private ByteString[] SignAll(IReadOnlyList<ByteString> batch)
    {
        var signatures = new ByteString[batch.Count];
        var parts = Math.Max(1, Math.Min(Environment.ProcessorCount, batch.Count / MinPayloadsPerCore));
        if (parts == 1)
        {
            SignPart(0);
        }
        else
        {
            Parallel.For(0, parts, SignPart);
        }

        return signatures;

        void SignPart(int part)
        {
            for (var i = part * batch.Count / parts; i < (part + 1) * batch.Count / parts; i++)
            {
                signatures[i] = UnsafeByteOperations.UnsafeWrap(_holder.Sign(batch[i].Span));
            }
        }
    }

    private static void CheckBatch(SignRequest request)
    {
        if (!request.Data.IsEmpty)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a request carries data or a batch, not both"));
        }

        if (request.Batch.Count > PodAgentSigner.MaxBatchPayloads)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"a batch holds at most {PodAgentSigner.MaxBatchPayloads} payloads, not {request.Batch.Count}"));
        }

        var total = 0L;
        foreach (var payload in request.Batch)
        {
            total += payload.Length;
        }

        if (total > MaxSignBytes)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"a batch's payloads must be at most {MaxSignBytes} bytes in all, not {total}"));
        }
    }

    private Blessing RequireCurrent() =>
        _holder.IsValid && _holder.Current is { } current
            ? current
            : throw new RpcException(new Status(StatusCode.Unavailable, "the pod-agent holds no valid blessing yet"));
}
