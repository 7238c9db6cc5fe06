using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Sidecars.PodAgent.Tokens;

/// <summary>
/// <c>GET /token/{key}</c> on the health port: the bytes of the token file the pod's first app container wrote
/// into the shared token volume, for the user-pods API to collect (instead of <c>kubectl exec</c>).
/// </summary>
public static class TokenEndpoint
{
    public const string Route = "/token/{key}";

    /// <summary>Maps the endpoint; without a token directory every key answers 404.</summary>
    public static void MapTokens(this IEndpointRouteBuilder endpoints, string? tokenDirectory, int byteLimit)
    {
        var files = tokenDirectory is null ? null : new TokenFiles(tokenDirectory, byteLimit);
        endpoints.MapGet(Route, (RequestDelegate)(context => ServeAsync(context, files)));
    }

    private static async Task ServeAsync(HttpContext context, TokenFiles? files)
    {
        var key = context.Request.RouteValues["key"] as string ?? "";
        if (files is null)
        {
            await Answer(context, StatusCodes.Status404NotFound, "no-directory", "this pod-agent serves no token directory");
            return;
        }

        var read = await files.ReadAsync(key, context.RequestAborted);
        switch (read.Status)
        {
            case TokenReadStatus.Found:
                TokenMetrics.Requests.WithLabels("found").Inc();
                context.Response.ContentType = "application/octet-stream";
                context.Response.ContentLength = read.Content!.Length;
                context.Response.Headers.CacheControl = "no-store";
                await context.Response.Body.WriteAsync(read.Content, context.RequestAborted);
                break;
            case TokenReadStatus.InvalidKey:
                await Answer(context, StatusCodes.Status400BadRequest, "invalid-key", $"token keys match {TokenKeys.Pattern}");
                break;
            case TokenReadStatus.TooLarge:
                await Answer(context, StatusCodes.Status413PayloadTooLarge, "too-large", $"token '{key}' is larger than {files.ByteLimit} bytes");
                break;
            case TokenReadStatus.Refused:
                await Answer(context, StatusCodes.Status403Forbidden, "refused", $"token '{key}' is not a regular file in the token directory");
                break;
            default:
                await Answer(context, StatusCodes.Status404NotFound, "missing", $"token '{key}' has not been written");
                break;
        }
    }

    private static Task Answer(HttpContext context, int status, string outcome, string message)
    {
        TokenMetrics.Requests.WithLabels(outcome).Inc();
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message, context.RequestAborted);
    }
}
