using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Admin;
using Sidecars.Identity.Blessings;

namespace Sidecars.Identity.Service;

/// <summary>The cluster agent's <c>sidecars.v1.Identity</c> service: translates messages and maps refusals to status codes.</summary>
public sealed class IdentityGrpcService : Contracts.V1.Identity.IdentityBase
{
    private readonly ClusterIdentity _identity;
    private readonly ISeekFailureLimiter _limiter;

    public IdentityGrpcService(ClusterIdentity identity, ISeekFailureLimiter limiter)
    {
        _identity = identity;
        _limiter = limiter;
    }

    [Authorize(Policy = IdentityPolicies.Admin)]
    public override async Task<ClaimResponse> Claim(ClaimRequest request, ServerCallContext context)
    {
        var authority = await Guard(() => _identity.ClaimAsync(request.Blessing, context.CancellationToken));
        return new ClaimResponse { Blessing = authority.Name, RootCertificate = ByteString.CopyFrom(authority.Certificate.RawData) };
    }

    [Authorize(Policy = IdentityPolicies.Admin)]
    public override async Task<NewSecretResponse> NewSecret(NewSecretRequest request, ServerCallContext context)
    {
        var (secret, blessing) = await Guard(() => _identity.NewSecretAsync(request.Extension, context.CancellationToken));
        return new NewSecretResponse { Secret = secret, Blessing = blessing };
    }

    [Authorize(Policy = IdentityPolicies.Admin)]
    public override async Task<ForgetSecretResponse> ForgetSecret(ForgetSecretRequest request, ServerCallContext context)
    {
        var blessing = await Guard(() => _identity.ForgetSecretAsync(request.Secret, context.CancellationToken));
        return new ForgetSecretResponse { Blessing = blessing };
    }

    [AllowAnonymous]
    public override async Task<SeekBlessingsResponse> SeekBlessings(SeekBlessingsRequest request, ServerCallContext context)
    {
        var peer = context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? "local";
        if (await _limiter.IsBlockedAsync(peer, context.CancellationToken))
        {
            IdentityMetrics.Failures.WithLabels("rate_limited").Inc();
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "too many failed SeekBlessings calls from this address; retry later"));
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            var issued = await Guard(() => _identity.SeekBlessingsAsync(request.Secret, request.PublicKey.Memory, request.Replica, request.PodToken, context.CancellationToken));
            IdentityMetrics.Issuances.WithLabels(request.Renewal ? "renewal" : "initial").Inc();
            IdentityMetrics.IssueDuration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            return new SeekBlessingsResponse { Blessing = ToMessage(issued) };
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.PermissionDenied or StatusCode.InvalidArgument or StatusCode.Unauthenticated)
        {
            // Counted even when the caller has gone: a guess was made.
            await _limiter.RecordFailureAsync(peer, CancellationToken.None);
            throw;
        }
    }

    [AllowAnonymous]
    public override async Task<TrustRoots> GetTrustRoots(GetTrustRootsRequest request, ServerCallContext context)
    {
        var roots = new TrustRoots();
        if (await _identity.GetAuthorityAsync(context.CancellationToken) is { } authority)
        {
            roots.Certificates.Add(ByteString.CopyFrom(authority.Certificate.RawData));
            roots.Names.Add(authority.Name);
        }

        return roots;
    }

    public static Blessing ToMessage(IssuedBlessing issued)
    {
        var message = new Blessing
        {
            Name = issued.Name,
            NotBefore = Timestamp.FromDateTimeOffset(issued.NotBefore),
            NotAfter = Timestamp.FromDateTimeOffset(issued.NotAfter),
        };
        message.Chain.AddRange(issued.Chain.Select(ByteString.CopyFrom));
        return message;
    }

    private static async Task<T> Guard<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (IdentityException e)
        {
            var (code, reason) = e.Error switch
            {
                IdentityError.InvalidArgument => (StatusCode.InvalidArgument, "invalid_argument"),
                IdentityError.NotClaimed => (StatusCode.FailedPrecondition, "not_claimed"),
                IdentityError.AlreadyClaimed => (StatusCode.AlreadyExists, "already_claimed"),
                IdentityError.UnknownSecret => (StatusCode.PermissionDenied, "unknown_secret"),
                IdentityError.Unauthenticated => (StatusCode.Unauthenticated, "pod_token_rejected"),
                IdentityError.NotThisReplica => (StatusCode.PermissionDenied, "not_this_replica"),
                _ => (StatusCode.Internal, "internal"),
            };
            IdentityMetrics.Failures.WithLabels(reason).Inc();
            throw new RpcException(new Status(code, e.Message));
        }
    }
}
