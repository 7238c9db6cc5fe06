using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.UserPods.Grpc;
using Sidecars.UserPods.Pods;
using Sidecars.UserPods.Security;

namespace Sidecars.UserPods.Compatibility;

/// <summary>
/// The two answers whose shape the original user-pods API had differently, under <see cref="Prefix"/>, for clients
/// written against it: <c>POST /compat/get_pods</c> answers a bare JSON list of pod infos with the original's field
/// names, and <c>GET /compat/get_podip_owner?ip=</c> answers the owner's user name as plain text (empty when none).
/// The same API keys and rules apply as on the main routes.
/// </summary>
public static class OriginalShapeEndpoints
{
    public const string Prefix = "/compat";

    public static RouteGroupBuilder MapOriginalShapes(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(Prefix);
        group.MapPost("/get_pods", (Delegate)GetPodsAsync);
        group.MapGet("/get_podip_owner", (Delegate)GetPodIpOwnerAsync);
        return group;
    }

    private static Task<IResult> GetPodsAsync(HttpContext http) => AnswerAsync(http, async (manager, caller, ct) =>
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: ct);
        }
        catch (JsonException e)
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, "the body is not JSON: " + e.Message);
        }

        var userId = body?["user_id"]?.GetValueKind() == JsonValueKind.String ? body["user_id"]!.GetValue<string>() : string.Empty;
        var pods = await manager.GetPodsAsync(caller, userId, ct);
        var now = DateTimeOffset.UtcNow;
        var list = new JsonArray();
        foreach (var pod in pods)
        {
            list.Add(new JsonObject
            {
                ["pod_name"] = pod.PodName,
                ["container_name"] = pod.Containers.Count > 0 ? pod.Containers[0] : string.Empty,
                ["image_name"] = pod.Images.Count > 0 ? pod.Images[0] : string.Empty,
                ["pod_ip"] = pod.PodIp,
                ["node_ip"] = pod.NodeIp,
                ["owner"] = pod.Owner,
                ["age"] = UserPodsGrpcService.FormatAge(now - pod.Created),
                ["status"] = pod.Status,
                ["url"] = pod.Url,
                ["tokens"] = Map(pod.Tokens.Tokens),
                ["k8s_pod_info"] = Map(pod.ResourceInfo),
            });
        }

        return Results.Text(list.ToJsonString(), "application/json");
    });

    private static Task<IResult> GetPodIpOwnerAsync(HttpContext http) => AnswerAsync(http, async (manager, caller, ct) =>
    {
        var owner = await manager.GetPodIpOwnerAsync(caller, http.Request.Query["ip"].ToString(), ct);
        return Results.Text(owner?.UserId ?? string.Empty, "text/plain");
    });

    private static async Task<IResult> AnswerAsync(HttpContext http, Func<UserPodsManager, Caller, CancellationToken, Task<IResult>> answer)
    {
        var caller = http.RequestServices.GetRequiredService<ApiKeyAuthenticator>().Authenticate(http.Request.Headers.Authorization.ToString());
        if (caller is null)
        {
            return Results.Text("missing or unknown API key: send 'authorization: Bearer <key>'", "text/plain", statusCode: StatusCodes.Status401Unauthorized);
        }

        try
        {
            return await answer(http.RequestServices.GetRequiredService<UserPodsManager>(), caller, http.RequestAborted);
        }
        catch (UserPodsException e)
        {
            return Results.Text(e.Message, "text/plain", statusCode: e.Error switch
            {
                UserPodsError.InvalidArgument or UserPodsError.FailedPrecondition => StatusCodes.Status400BadRequest,
                UserPodsError.PermissionDenied => StatusCodes.Status403Forbidden,
                UserPodsError.Unauthenticated => StatusCodes.Status401Unauthorized,
                UserPodsError.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
                _ => StatusCodes.Status503ServiceUnavailable,
            });
        }
    }

    private static JsonObject Map(IEnumerable<KeyValuePair<string, string>> values)
    {
        var map = new JsonObject();
        foreach (var (key, value) in values)
        {
            map[key] = value;
        }

        return map;
    }
}
