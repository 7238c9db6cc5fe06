using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sidecars.Kubernetes;
using Sidecars.Networks;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The cluster agent's network controller (Sidecars.Networks), hosted on this machine against the lane's API for one
/// namespace: it joins the Ready lightpeer pods there by calling them at their pod addresses.
/// </summary>
internal sealed class NetworkControllerHost : IAsyncDisposable
{
    private readonly IHost _host;

    private NetworkControllerHost(IHost host)
    {
        _host = host;
    }

    public NetworkController Controller => _host.Services.GetRequiredService<NetworkController>();

    public static async Task<NetworkControllerHost> StartAsync(string kubeconfig, string ns)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [KubernetesOptions.Section + ":KubeconfigPath"] = kubeconfig,
            [NetworksOptions.Section + ":Namespace"] = ns,
        });
        builder.Services.AddOptions<NetworksOptions>().Bind(builder.Configuration.GetSection(NetworksOptions.Section)).ValidateOnStart();
        builder.Services.AddSidecarsKubernetes(builder.Configuration);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<NetworkController>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<NetworkController>());
        var host = builder.Build();
        await host.StartAsync();
        return new NetworkControllerHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
