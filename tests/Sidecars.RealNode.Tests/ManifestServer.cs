using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// Serves one pod manifest on the lane bridge's host-side address, where the cluster agent's pods reach this host,
/// as a portal's manifest repository would.
/// </summary>
internal sealed class ManifestServer : IAsyncDisposable
{
    /// <summary>The bridge's host-side address (tests/realnode/lane.sh HOST_IP).</summary>
    private const string HostAddress = "10.244.0.1";

    private readonly WebApplication _app;

    private ManifestServer(WebApplication app, int port, string token)
    {
        _app = app;
        Url = $"http://{HostAddress}:{port}/scenario.yaml";
        Token = token;
    }

    public string Url { get; }

    /// <summary>The token the manifest's app writes.</summary>
    public string Token { get; }

    /// <summary>A manifest whitelist matching only <see cref="Url"/>.</summary>
    public string Whitelist => System.Text.RegularExpressions.Regex.Escape(Url);

    public static async Task<ManifestServer> StartAsync(Func<string, string> manifest)
    {
        var token = Guid.NewGuid().ToString("N");
        var builder = WebApplication.CreateSlimBuilder();
        var port = FreePort();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(HostAddress), port));
        var app = builder.Build();
        var body = manifest(token);
        app.MapGet("/scenario.yaml", () => Results.Text(body, "application/yaml"));
        await app.StartAsync();
        return new ManifestServer(app, port, token);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Parse(HostAddress), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
