using System.Net;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sidecars.Testing.Agent;

/// <summary>The cluster agent's clusters and networks capabilities, hosted in-process on 127.0.0.1:0 against a kubeconfig.</summary>
internal sealed class AgentHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AgentHost(WebApplication app, GrpcChannel channel)
    {
        _app = app;
        Channel = channel;
    }

    public GrpcChannel Channel { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<AgentHost> StartAsync(string kubeconfig, IDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        var log = Path.Combine(AppContext.BaseDirectory, "agent-logs", $"{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        builder.Logging.AddProvider(new FileLoggerProvider(log));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System", LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sidecars:Kubernetes:KubeconfigPath"] = kubeconfig,
            ["Sidecars:Clusters:AllowUnauthenticatedAdminRpcs"] = "true",
            ["Sidecars:Networks:AllowUnauthenticatedAdminRpcs"] = "true",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.AddSidecarsClusters();
        builder.AddSidecarsNetworks();
        var app = builder.Build();
        app.MapSidecarsClusters();
        app.MapSidecarsNetworks();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AgentHost(app, GrpcChannel.ForAddress(address));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
