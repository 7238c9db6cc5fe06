using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Prometheus;
using Sidecars.Conventions;

namespace Sidecars.Lightpeer;

/// <summary>
/// Who may call a lightpeer served over TLS: every call needs a client certificate chaining to the network CA
/// (otherwise <see cref="StatusCode.Unauthenticated"/>), and <c>Join</c> and <c>Forget</c> are the network
/// controller's alone (<see cref="SidecarsNames.NetworkControllerName"/>; a peer gets <see cref="StatusCode.PermissionDenied"/>).
/// A certificate's chain is checked once per connection and material, not on every call.
/// </summary>
public sealed partial class PeerAuthorization(PeerTls tls, ILogger<PeerAuthorization> logger) : Interceptor
{
    private static readonly string Service = "/" + Contracts.V1.Lightpeer.Descriptor.FullName + "/";
    private static readonly string JoinMethod = Service + "Join";
    private static readonly string ForgetMethod = Service + "Forget";

    private static readonly Counter Refused = Prometheus.Metrics.CreateCounter(
        "sidecars_lightpeer_calls_refused_total", "Calls refused for want of a network certificate or of the controller's name.", "reason");

    private readonly ConditionalWeakTable<X509Certificate2, Verdict> _verdicts = [];

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        Authorize(context);
        return continuation(request, context);
    }

    private void Authorize(ServerCallContext context)
    {
        var client = context.GetHttpContext().Connection.ClientCertificate;
        if (Authenticate(client) is { } refusal)
        {
            Refused.WithLabels("unauthenticated").Inc();
            Log.Unauthenticated(logger, context.Method, context.Peer, refusal);
            throw new RpcException(new Status(StatusCode.Unauthenticated, refusal));
        }

        if ((context.Method == JoinMethod || context.Method == ForgetMethod) && !PeerTls.IsController(client!))
        {
            var names = PeerTls.NamesOf(client!);
            Refused.WithLabels("not_controller").Inc();
            Log.NotController(logger, context.Method, context.Peer, names);
            throw new RpcException(new Status(
                StatusCode.PermissionDenied,
                $"{context.Method} is for the network controller ({SidecarsNames.NetworkControllerName}) only; the caller's certificate names {names}"));
        }
    }

    private string? Authenticate(X509Certificate2? client)
    {
        if (tls.Current is not { } material)
        {
            return "this lightpeer has no network CA to check callers against yet";
        }

        if (client is null)
        {
            return PeerTls.CheckClient(null, material);
        }

        if (_verdicts.TryGetValue(client, out var cached) && ReferenceEquals(cached.Material, material) && DateTime.UtcNow < cached.Until)
        {
            return cached.Refusal;
        }

        var refusal = PeerTls.CheckClient(client, material);
        _verdicts.AddOrUpdate(client, new Verdict(material, refusal, client.NotAfter.ToUniversalTime()));
        return refusal;
    }

    private sealed record Verdict(PeerTlsMaterial Material, string? Refusal, DateTime Until);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused {Method} from {Peer}: {Reason}")]
        public static partial void Unauthenticated(ILogger logger, string method, string peer, string reason);

        [LoggerMessage(2, LogLevel.Warning, "Refused {Method} from {Peer}: only the network controller may call it, the caller is {Names}")]
        public static partial void NotController(ILogger logger, string method, string peer, string names);
    }
}
