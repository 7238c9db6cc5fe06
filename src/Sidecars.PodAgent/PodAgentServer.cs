using System.Net;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Sidecars.AgentLifecycle;
using Sidecars.PodAgent.Tokens;

namespace Sidecars.PodAgent;

/// <summary>
/// The agent's web host: gRPC on the pod socket (HTTP/2), health and metrics on POD_IP (plain HTTP/1.1), and with a token
/// directory the token endpoint on POD_IP's token port (HTTPS, client certificates checked by <see cref="TokenEndpoint"/>).
/// </summary>
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

            if (options.TokenPort > 0 && options.TokenDirectory is not null)
            {
                kestrel.Listen(IPAddress.Parse(options.PodIp), options.TokenPort, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = TokenServerCertificate.Create(options.PodIp),
                        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        // Asked for, checked by the endpoint: a caller without one gets 401 rather than a failed handshake.
                        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                        ClientCertificateValidation = (_, _, _) => true,
                    });
                });
            }

            // Last: Kestrel binds in this order and each endpoint serves once bound, so a ready health port means the others listen.
            if (options.HealthPort > 0)
            {
                kestrel.Listen(IPAddress.Parse(options.PodIp), options.HealthPort, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });
        builder.Services.AddSingleton(holder);
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = PodAgentGrpcService.MaxRequestBytes);

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
        app.MapTokens(options);
        app.MapMetrics("/metrics");
        return app;
    }
}
