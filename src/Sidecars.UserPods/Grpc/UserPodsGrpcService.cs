using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Sidecars.Contracts.V1;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Pods;
using Sidecars.UserPods.Security;

namespace Sidecars.UserPods.Grpc;

/// <summary>The UserPods gRPC (and HTTP/JSON) service: translates messages and calls <see cref="UserPodsManager"/>.</summary>
public sealed class UserPodsGrpcService(UserPodsManager manager, TimeProvider time, IOptions<UserPodsOptions> options) : Contracts.V1.UserPods.UserPodsBase
{
    public override async Task<CreatePodResponse> CreatePod(CreatePodRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var http = context.GetHttpContext();
        var address = CallerAddress.Resolve(http.Connection.RemoteIpAddress, http.Request.Headers["X-Forwarded-For"].ToString(), options.Value);
        var name = await manager.CreateAsync(
            UserPodsCallInterceptor.CallerOf(context), request.YamlUrl, request.UserId, Settings(request.Settings), address, request.RequestId,
            context.CancellationToken);
        return new CreatePodResponse { PodName = name };
    }

    public override async Task<WatchCreatePodResponse> WatchCreatePod(WatchCreatePodRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new WatchCreatePodResponse
        {
            Ready = await manager.WatchCreateAsync(UserPodsCallInterceptor.CallerOf(context), request.UserId, request.PodName, context.CancellationToken),
        };
    }

    public override async Task<DeletePodResponse> DeletePod(DeletePodRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new DeletePodResponse
        {
            Requested = await manager.DeleteAsync(UserPodsCallInterceptor.CallerOf(context), request.UserId, request.PodName, context.CancellationToken),
        };
    }

    public override async Task<WatchDeletePodResponse> WatchDeletePod(WatchDeletePodRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new WatchDeletePodResponse
        {
            Deleted = await manager.WatchDeleteAsync(UserPodsCallInterceptor.CallerOf(context), request.UserId, request.PodName, context.CancellationToken),
        };
    }

    public override async Task<DeleteAllUserResponse> DeleteAllUser(DeleteAllUserRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var names = await manager.DeleteAllAsync(UserPodsCallInterceptor.CallerOf(context), request.UserId, context.CancellationToken);
        return new DeleteAllUserResponse { PodNames = { names } };
    }

    public override async Task<GetPodsResponse> GetPods(GetPodsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pods = await manager.GetPodsAsync(UserPodsCallInterceptor.CallerOf(context), request.UserId, context.CancellationToken);
        var now = time.GetUtcNow();
        var response = new GetPodsResponse();
        foreach (var pod in pods)
        {
            var age = now - pod.Created;
            response.Pods.Add(new UserPodInfo
            {
                PodName = pod.PodName,
                Containers = { pod.Containers },
                Images = { pod.Images },
                PodIp = pod.PodIp,
                NodeIp = pod.NodeIp,
                Owner = pod.Owner,
                AgeSeconds = (long)Math.Max(0, age.TotalSeconds),
                Age = FormatAge(age),
                Status = pod.Status,
                Url = pod.Url,
                Tokens = { pod.Tokens.Tokens.ToDictionary() },
                TokenErrors = { pod.Tokens.Errors.ToDictionary() },
                K8SPodInfo = { pod.ResourceInfo.ToDictionary() },
            });
        }

        return response;
    }

    public override async Task<GetPodIpOwnerResponse> GetPodIpOwner(GetPodIpOwnerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var owner = await manager.GetPodIpOwnerAsync(UserPodsCallInterceptor.CallerOf(context), request.Ip, context.CancellationToken);
        return owner is { } o ? new GetPodIpOwnerResponse { UserId = o.UserId, PodName = o.PodName } : new GetPodIpOwnerResponse();
    }

    /// <summary><c>{container: {VAR: value}}</c>; anything else is refused.</summary>
    internal static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? Settings(Struct? settings)
    {
        if (settings is null || settings.Fields.Count == 0)
        {
            return null;
        }

        var result = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (container, value) in settings.Fields)
        {
            if (value.KindCase != Value.KindOneofCase.StructValue)
            {
                throw new UserPodsException(UserPodsError.InvalidArgument,
                    $"settings.{container} must be an object of environment variables, {{\"VAR\": \"value\"}}");
            }

            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (variable, v) in value.StructValue.Fields)
            {
                if (v.KindCase != Value.KindOneofCase.StringValue)
                {
                    throw new UserPodsException(UserPodsError.InvalidArgument, $"settings.{container}.{variable} must be a string");
                }

                env[variable] = v.StringValue;
            }

            result[container] = env;
        }

        return result;
    }

    internal static string FormatAge(TimeSpan age) =>
        age.TotalDays >= 1 ? $"{(int)age.TotalDays}d{age.Hours}h"
        : age.TotalHours >= 1 ? $"{(int)age.TotalHours}h{age.Minutes}m"
        : age.TotalMinutes >= 1 ? $"{(int)age.TotalMinutes}m{age.Seconds}s"
        : $"{Math.Max(0, (int)age.TotalSeconds)}s";
}
