using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Sidecars.Contracts.V1;

namespace Sidecars.PodAgent;

/// <summary>
/// Client side of <c>SignStream</c> for apps that sign often: every caller shares one stream to the pod-agent, each
/// signature one message each way instead of a call. Safe for concurrent use. Requests are written one at a time and
/// the agent answers in order, so responses are matched to callers first-in first-out (and checked by id). If the
/// stream fails, the callers waiting on it get its error and the next call opens a new stream.
/// </summary>
public sealed class PodAgentSigner : IAsyncDisposable
{
    /// <summary>The most bytes one request may ask to have signed.</summary>
    public const int MaxSignBytes = 1 << 20;

    private readonly Contracts.V1.PodAgent.PodAgentClient _client;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private Session? _session;
    private ulong _nextId;
    private bool _disposed;

    public PodAgentSigner(Contracts.V1.PodAgent.PodAgentClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
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

        Pending pending;
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var session = _session ??= Open();
            pending = new Pending(++_nextId);
            session.Enqueue(pending);
            try
            {
                // Not cancellable: a write abandoned halfway would break the stream for every caller.
                await session.Call.RequestStream.WriteAsync(new SignRequest { Id = pending.Id, Data = UnsafeByteOperations.UnsafeWrap(data) }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
            {
                // A failed write means the call is over: its status, which the reader reports, says why.
                await session.Reader.ConfigureAwait(false);
                Fail(session, AsTransportLoss(e));
            }
        }
        finally
        {
            _writeGate.Release();
        }

        return await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _writeGate.WaitAsync().ConfigureAwait(false);
        Session? session;
        try
        {
            _disposed = true;
            session = _session;
            _session = null;
        }
        finally
        {
            _writeGate.Release();
        }

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

            Fail(session, new ObjectDisposedException(nameof(PodAgentSigner)));
            session.Call.Dispose();
        }

        _writeGate.Dispose();
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
                if (!session.TryDequeue(out var pending) || pending.Id != response.Id)
                {
                    throw new RpcException(new Status(StatusCode.Internal, $"the pod-agent answered request {response.Id} out of turn"));
                }

                pending.Result.TrySetResult(response);
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

    /// <summary>Retires the session (the next call opens a new stream) and fails whoever still waits on it.</summary>
    private void Fail(Session session, Exception error)
    {
        Interlocked.CompareExchange(ref _session, null, session);
        session.Fail(error);
    }

    private sealed record Pending(ulong Id)
    {
        public TaskCompletionSource<SignResponse> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Session(AsyncDuplexStreamingCall<SignRequest, SignResponse> call)
    {
        private readonly ConcurrentQueue<Pending> _waiting = new();
        private Exception? _error;

        public AsyncDuplexStreamingCall<SignRequest, SignResponse> Call { get; } = call;

        public Task Reader { get; set; } = Task.CompletedTask;

        public void Enqueue(Pending pending)
        {
            _waiting.Enqueue(pending);
            // Failed meanwhile: the drain in Fail may have missed this one.
            if (Volatile.Read(ref _error) is { } error)
            {
                Drain(error);
            }
        }

        public bool TryDequeue(out Pending pending) => _waiting.TryDequeue(out pending!);

        public void Fail(Exception error)
        {
            Interlocked.CompareExchange(ref _error, error, null);
            Drain(Volatile.Read(ref _error)!);
        }

        private void Drain(Exception error)
        {
            while (_waiting.TryDequeue(out var pending))
            {
                pending.Result.TrySetException(error);
            }
        }
    }
}
