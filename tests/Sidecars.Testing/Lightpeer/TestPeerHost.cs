using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sidecars.Testing.Lightpeer;

/// <summary>Hosts a test's stand-in lightpeer: one gRPC service over HTTP/2 without TLS on a loopback address.</summary>
public static class TestPeerHost
{
    /// <summary>Serves <typeparamref name="TService"/> on <paramref name="ip"/>:<paramref name="port"/>; the service gets <paramref name="peer"/> injected.</summary>
    public static async Task<WebApplication> StartAsync<TService, TPeer>(string ip, int port, TPeer peer)
        where TService : class
        where TPeer : class
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(ip), port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(peer);
        var app = builder.Build();
        app.MapGrpcService<TService>();
        await app.StartAsync();
        return app;
    }
}
