using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sidecars.PodAgent.Tokens;

/// <summary>
/// <c>GET /token/{key}</c> on the token port (TLS): the bytes of the token file the pod's first app container wrote
/// into the shared token volume, for the cluster agent's user-pods API to collect (instead of <c>kubectl exec</c>).
/// Only the token reader gets them: a request without a client certificate is answered 401, one with another
/// certificate 403; the plain health port does not serve the route at all. Nothing logged carries a token.
/// </summary>
public static partial class TokenEndpoint
{
    public const string Route = "/token/{key}";

    /// <summary>Maps the endpoint for connections to <paramref name="tokenPort"/>; without a token directory every key answers 404.</summary>
    public static void MapTokens(this IEndpointRouteBuilder endpoints, PodAgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var files = options.TokenDirectory is null ? null : new TokenFiles(options.TokenDirectory, options.TokenByteLimit);
        var readers = new TokenReaderAuthenticator(options.TokenReaderCa, options.TokenReader);
        var tokenPort = options.TokenPort;
        endpoints.MapGet(Route, (RequestDelegate)(context => ServeAsync(context, tokenPort, readers, files)));
    }

    private static async Task ServeAsync(HttpContext context, int tokenPort, TokenReaderAuthenticator readers, TokenFiles? files)
    {
        if (tokenPort == 0 || context.Connection.LocalPort != tokenPort || !context.Request.IsHttps)
        {
            // The plain health port: as if the route did not exist there.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TokenEndpoint).FullName!);
        var client = context.Connection.ClientCertificate;
        var verdict = readers.Check(client);
        if (verdict != TokenReaderVerdict.Accepted)
        {
            var remote = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            Log.Refused(logger, remote, verdict, client?.Subject ?? "none");
            var (status, outcome, message) = verdict switch
            {
                TokenReaderVerdict.NoCertificate => (StatusCodes.Status401Unauthorized, "unauthenticated",
                    $"tokens are served only to {readers.ReaderName}, which presents its client certificate"),
                TokenReaderVerdict.NoTrustBundle => (StatusCodes.Status403Forbidden, "forbidden",
                    "this pod-agent trusts no token reader (no CA bundle: --token-reader-ca or --cluster-agent-ca)"),
                _ => (StatusCodes.Status403Forbidden, "forbidden", $"tokens are served only to {readers.ReaderName}"),
            };
            await Answer(context, status, outcome, message);
            return;
        }

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
                Log.Served(logger, key);
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Token request from {Remote} refused ({Verdict}); client certificate {Subject}")]
        public static partial void Refused(ILogger logger, string remote, TokenReaderVerdict verdict, string subject);

        [LoggerMessage(2, LogLevel.Information, "Token {Key} served to the token reader")]
        public static partial void Served(ILogger logger, string key);
    }
}
