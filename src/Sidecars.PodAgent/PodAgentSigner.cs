using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Sidecars.Contracts.V1;

namespace Sidecars.PodAgent;

/// <summary>
/// Client side of <c>SignStream</c> for apps that sign often: every caller shares one stream to the pod-agent. Safe for
/// concurrent use. One writer sends what callers have queued: a lone payload as one request, and the payloads that
/// arrived while the previous request was being written as one batch (<see cref="SignRequest.Batch"/>), so under load
/// a request and its framing are paid once for many signatures while a lone caller waits for no one. The agent answers
/// in order, so responses are matched to requests first-in first-out (and checked by id). If the stream fails, the
/// callers waiting on it get its error and the next request opens a new stream.
/// </summary>
public sealed class PodAgentSigner : IAsyncDisposable
{
    /// <summary>The most bytes one request may ask to have signed (one payload, or a batch's payloads in all).</summary>
    public const int MaxSignBytes = 1 << 20;

    /// <summary>The most payloads one request may carry.</summary>
    public const int MaxBatchPayloads = 1024;

    /// <summary>The most payloads this signer puts in one request unless told otherwise.</summary>
    public const int DefaultMaxBatch = 64;

    private readonly Contracts.V1.PodAgent.PodAgentClient _client;
    private readonly int _maxBatch;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private Session? _session;
    private ulong _nextId;

    public PodAgentSigner(Contracts.V1.PodAgent.PodAgentClient client)
        : this(client, DefaultMaxBatch)
    {
    }

    /// <param name="client">A client of the pod socket.</param>
    /// <param name="maxBatch">The most payloads one request carries, 1 to <see cref="MaxBatchPayloads"/>; 1 sends a
    /// request per signature.</param>
    public PodAgentSigner(Contracts.V1.PodAgent.PodAgentClient client, int maxBatch)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxBatch, MaxBatchPayloads);
        _client = client;
        _maxBatch = maxBatch;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Signs <paramref name="data"/> with the replica's key (ECDSA P-256 over SHA-256, DER signature).</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxSignBytes"/> bytes: refused here, so one caller's
    /// bad request does not end the stream the others share.</exception>
    /// <exception cref="RpcException">The agent refused (for example, no valid blessing yet) or the stream failed.</exception>
    public async Task<SignResponse> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (data.Length > MaxSignBytes)
        {
            throw new ArgumentException($"data must be at most {MaxSignBytes} bytes, not {data.Length}", nameof(data));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(data, cancellationToken);
        // The queue is completed by DisposeAsync and by nothing else.
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        return await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends what was queued before, waits for its answers, then closes the stream.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_queue.Writer.TryComplete())
        {
            return;
        }

        await _writer.ConfigureAwait(false);
        var session = Interlocked.Exchange(ref _session, null);
        if (session is not null)
        {
            try
            {
                await session.Call.RequestStream.CompleteAsync().ConfigureAwait(false);
                await session.Reader.ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
            {
                // The stream was already broken; its callers have been told.
            }

            session.Fail(new ObjectDisposedException(nameof(PodAgentSigner)));
            session.Call.Dispose();
        }
    }

    /// <summary>The one writer: takes what is queued, up to the batch's bounds, and sends it as one request.</summary>
    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(_maxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var bytes = 0;
            while (batch.Count < _maxBatch && reader.TryPeek(out var next) && (batch.Count == 0 || bytes + next.Data.Length <= MaxSignBytes))
            {
                reader.TryRead(out _);
                if (next.CancellationToken.IsCancellationRequested)
                {
                    // Its caller has stopped waiting.
                    next.Result.TrySetCanceled(next.CancellationToken);
                    continue;
                }

                batch.Add(next);
                bytes += next.Data.Length;
            }

            if (batch.Count > 0)
            {
                await SendAsync([.. batch]).ConfigureAwait(false);
            }
        }
    }

    private async Task SendAsync(Pending[] items)
    {
        var request = new SignRequest { Id = ++_nextId };
        if (items.Length == 1)
        {
            request.Data = UnsafeByteOperations.UnsafeWrap(items[0].Data);
        }
        else
        {
            foreach (var item in items)
            {
                request.Batch.Add(UnsafeByteOperations.UnsafeWrap(item.Data));
            }
        }

        Session session;
        try
        {
            session = _session ??= Open();
        }
        catch (Exception e)
        {
            InFlight.Fail(items, e);
            return;
        }

        session.Enqueue(new InFlight(request.Id, items));
        try
        {
            // Not cancellable: a write abandoned halfway would break the stream for every caller.
            await session.Call.RequestStream.WriteAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
        {
            // A failed write means the call is over: its status, which the reader reports, says why.
            await session.Reader.ConfigureAwait(false);
            Fail(session, AsTransportLoss(e));
        }
        catch (Exception e)
        {
            // Whatever else broke the write, no caller is left waiting on a stream that may be half-written.
            Fail(session, e);
            session.Call.Dispose();
        }
    }

    private Session Open()
    {
        var session = new Session(_client.SignStream());
        session.Reader = ReadAsync(session);
        return session;
    }

    private async Task ReadAsync(Session session)
    {
        try
        {
            await foreach (var response in session.Call.ResponseStream.ReadAllAsync().ConfigureAwait(false))
            {
                if (!session.TryDequeue(out var request) || request.Id != response.Id)
                {
                    var error = new RpcException(new Status(StatusCode.Internal, $"the pod-agent answered request {response.Id} out of turn"));
                    InFlight.Fail(request?.Items ?? [], error);
                    throw error;
                }

                request.Complete(response);
            }

            Fail(session, new RpcException(new Status(StatusCode.Unavailable, "the pod-agent ended the sign stream")));
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
        {
            Fail(session, AsTransportLoss(e));
        }
    }

    /// <summary>
    /// A stream cut under a read (the agent restarting, its socket gone) surfaces from the client as Internal with the
    /// transport's exception inside; callers retry on Unavailable, so that is what it is reported as.
    /// </summary>
    internal static Exception AsTransportLoss(Exception error) => error switch
    {
        RpcException { StatusCode: StatusCode.Internal, Status.DebugException: IOException or HttpRequestException } cut =>
            new RpcException(new Status(StatusCode.Unavailable, $"the sign stream to the pod-agent was lost: {cut.Status.Detail}", cut.Status.DebugException)),
        IOException lost => new RpcException(new Status(StatusCode.Unavailable, $"the sign stream to the pod-agent was lost: {lost.Message}", lost)),
        _ => error,
    };

    /// <summary>Retires the session (the next request opens a new stream) and fails whoever still waits on it.</summary>
    private void Fail(Session session, Exception error)
    {
        Interlocked.CompareExchange(ref _session, null, session);
        session.Fail(error);
    }

    private sealed record Pending(ReadOnlyMemory<byte> Data, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<SignResponse> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One request on the stream and the callers it carries, in the order of its payloads.</summary>
    private sealed record InFlight(ulong Id, Pending[] Items)
    {
        public void Complete(SignResponse response)
        {
            if (Items.Length == 1 && response.BatchSignatures.Count == 0)
            {
                Items[0].Result.TrySetResult(response);
                return;
            }

            if (response.BatchSignatures.Count != Items.Length)
            {
                var error = new RpcException(new Status(StatusCode.Internal,
                    $"the pod-agent answered a batch of {Items.Length} payloads with {response.BatchSignatures.Count} signatures"));
                Fail(Items, error);
                throw error;
            }

            for (var i = 0; i < Items.Length; i++)
            {
                Items[i].Result.TrySetResult(new SignResponse
                {
                    Signature = response.BatchSignatures[i],
                    Algorithm = response.Algorithm,
                    Blessing = response.Blessing,
                    Id = response.Id,
                });
            }
        }

        public static void Fail(Pending[] items, Exception error)
        {
            foreach (var item in items)
            {
                item.Result.TrySetException(error);
            }
        }
    }

    private sealed class Session(AsyncDuplexStreamingCall<SignRequest, SignResponse> call)
    {
        private readonly ConcurrentQueue<InFlight> _waiting = new();
        private Exception? _error;

        public AsyncDuplexStreamingCall<SignRequest, SignResponse> Call { get; } = call;

        public Task Reader { get; set; } = Task.CompletedTask;

        public void Enqueue(InFlight request)
        {
            _waiting.Enqueue(request);
            // Failed meanwhile: the drain in Fail may have missed this one.
            if (Volatile.Read(ref _error) is { } error)
            {
                Drain(error);
            }
        }

        public bool TryDequeue([NotNullWhen(true)] out InFlight? request) => _waiting.TryDequeue(out request);

        public void Fail(Exception error)
        {
            Interlocked.CompareExchange(ref _error, error, null);
            Drain(Volatile.Read(ref _error)!);
        }

        private void Drain(Exception error)
        {
            while (_waiting.TryDequeue(out var request))
            {
                InFlight.Fail(request.Items, error);
            }
        }
    }
}
