using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sidecars.Testing.Http;

/// <summary>A small HTTP server on 127.0.0.1 serving fixed paths (manifests, tokens).</summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackHttpServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);

    public static async Task<LoopbackHttpServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        LoopbackHttpServer? server = null;
        app.Run(async context =>
        {
            if (server!.Files.TryGetValue(context.Request.Path.Value ?? string.Empty, out var body))
            {
                await context.Response.WriteAsync(body);
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        server = new LoopbackHttpServer(app, address);
        return server;
    }

    public string Url(string path) => new Uri(Address, path).ToString();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
