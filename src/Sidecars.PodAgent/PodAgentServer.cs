using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Sidecars.AgentLifecycle;
using Sidecars.PodAgent.Tokens;

namespace Sidecars.PodAgent;

/// <summary>The agent's web host: gRPC on the pod socket (HTTP/2), health and metrics on POD_IP (HTTP/1.1).</summary>
internal static class PodAgentServer
{
    public static WebApplication Build(PodAgentOptions options, BlessingHolder holder)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = AgentHostArguments.NoFileWatching });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (!options.TokensOnly)
            {
                kestrel.Listen(UnixSocketPath.EndPointFor(options.Socket), listen => listen.Protocols = HttpProtocols.Http2);
            }

            if (options.HealthPort > 0)
            {
                kestrel.Listen(IPAddress.Parse(options.PodIp), options.HealthPort, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });
        builder.Services.AddSingleton(holder);
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = PodAgentGrpcService.MaxSignBytes + 1024);

        var app = builder.Build();
        app.MapGrpcService<PodAgentGrpcService>();
        app.MapGet("/healthz", (RequestDelegate)(context => context.Response.WriteAsync("ok", context.RequestAborted)));
        app.MapGet("/readyz", (RequestDelegate)(context =>
        {
            if (options.TokensOnly || holder.IsValid)
            {
                return context.Response.WriteAsync("ready", context.RequestAborted);
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync("no valid blessing", context.RequestAborted);
        }));
        app.MapTokens(options.TokenDirectory, options.TokenByteLimit);
        app.MapMetrics("/metrics");
        return app;
    }
}
