using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Sidecars.UserPods.Security;

namespace Sidecars.UserPods.Grpc;

/// <summary>
/// Authenticates every user-pods call (gRPC and transcoded HTTP alike), maps refusals to gRPC status codes (and so
/// to HTTP status codes) with their reason, and records metrics.
/// </summary>
public sealed class UserPodsCallInterceptor(ApiKeyAuthenticator authenticator) : Interceptor
{
    private const string CallerKey = "sidecars.userpods.caller";

    public static Caller CallerOf(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(CallerKey, out var caller) && caller is Caller c
            ? c
            : throw new RpcException(new Status(StatusCode.Unauthenticated, "the call is not authenticated"));
    }

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        var started = Stopwatch.GetTimestamp();
        var outcome = StatusCode.OK;
        try
        {
            var caller = authenticator.Authenticate(context.RequestHeaders.GetValue("authorization"))
                         ?? throw new RpcException(new Status(StatusCode.Unauthenticated,
                             "missing or unknown API key: send 'authorization: Bearer <key>'"));
            context.UserState[CallerKey] = caller;
            return await continuation(request, context);
        }
        catch (UserPodsException e)
        {
            outcome = Map(e.Error);
            throw new RpcException(new Status(outcome, e.Message));
        }
        catch (RpcException e)
        {
            outcome = e.StatusCode;
            throw;
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            outcome = StatusCode.Cancelled;
            throw new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
        }
        catch
        {
            outcome = StatusCode.Internal;
            throw;
        }
        finally
        {
            UserPodsMetrics.Requests.WithLabels(method, outcome.ToString()).Inc();
            UserPodsMetrics.RequestDuration.WithLabels(method).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    internal static StatusCode Map(UserPodsError error) => error switch
    {
        UserPodsError.InvalidArgument => StatusCode.InvalidArgument,
        UserPodsError.PermissionDenied => StatusCode.PermissionDenied,
        UserPodsError.Unauthenticated => StatusCode.Unauthenticated,
        UserPodsError.FailedPrecondition => StatusCode.FailedPrecondition,
        UserPodsError.DeadlineExceeded => StatusCode.DeadlineExceeded,
        UserPodsError.Unavailable => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
