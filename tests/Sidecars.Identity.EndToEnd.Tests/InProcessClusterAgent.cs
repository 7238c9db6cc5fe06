using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sidecars.Testing.Identity;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>
/// The cluster agent's identity capability, wired as the host's Program.cs wires it, in-process on 127.0.0.1: plaintext
/// HTTP/2 for the pod-agents (loopback only) and HTTPS with admin client certificates for admin calls. Restartable on
/// the same ports and file store.
/// </summary>
internal sealed class InProcessClusterAgent : IAsyncDisposable
{
    private readonly TestPki _pki;
    private readonly string _storePath;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private WebApplication? _app;

    private InProcessClusterAgent(TestPki pki, string storePath, IReadOnlyDictionary<string, string?> settings)
    {
        _pki = pki;
        _storePath = storePath;
        _settings = settings;
    }

    public int PlainPort { get; private set; }

    public int TlsPort { get; private set; }

    /// <summary>What pod-agents are given (SIDECARS_CLUSTER_AGENT).</summary>
    public string PlainAddress => $"http://127.0.0.1:{PlainPort}";

    /// <summary>Where admins (sidecarsctl) connect.</summary>
    public string AdminAddress => $"https://127.0.0.1:{TlsPort}";

    public static async Task<InProcessClusterAgent> StartAsync(TestPki pki, string storePath, IReadOnlyDictionary<string, string?> settings)
    {
        var agent = new InProcessClusterAgent(pki, storePath, settings);
        await agent.StartAsync();
        return agent;
    }

    /// <summary>Starts (again) on the ports of the first start, or on free ports the first time.</summary>
    public async Task StartAsync()
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("already running");
        }

        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var config = new Dictionary<string, string?>
        {
            ["Sidecars:Identity:Store"] = "File",
            ["Sidecars:Identity:FilePath"] = _storePath,
            ["Sidecars:Identity:AdminClientCaFile"] = _pki.AdminCaPemPath,
        };
        foreach (var (key, value) in _settings)
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddGrpc();
        builder.AddSidecarsIdentity();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, PlainPort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, TlsPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(_pki.ServerCertificate);
            });
        });
        var app = builder.Build();
        app.MapSidecarsIdentity();
        await app.StartAsync();
        if (PlainPort == 0)
        {
            var ports = app.Urls.Select(url => new Uri(url)).ToList();
            PlainPort = ports.Single(u => u.Scheme == "http").Port;
            TlsPort = ports.Single(u => u.Scheme == "https").Port;
        }

        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
