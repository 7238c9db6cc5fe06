using System.Net;
using System.Security.Cryptography.X509Certificates;
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
    private readonly Func<X509Certificate2>? _servingCertificate;
    private WebApplication? _app;

    private InProcessClusterAgent(TestPki pki, string storePath, IReadOnlyDictionary<string, string?> settings, Func<X509Certificate2>? servingCertificate)
    {
        _pki = pki;
        _storePath = storePath;
        _settings = settings;
        _servingCertificate = servingCertificate;
    }

    /// <summary>The HTTPS port for pod-agents when started with a serving certificate; 0 otherwise.</summary>
    public int ServingPort { get; private set; }

    /// <summary>What pod-agents are given over HTTPS (SIDECARS_CLUSTER_AGENT).</summary>
    public string ServingAddress => $"https://127.0.0.1:{ServingPort}";

    public int PlainPort { get; private set; }

    public int TlsPort { get; private set; }

    /// <summary>What pod-agents are given (SIDECARS_CLUSTER_AGENT).</summary>
    public string PlainAddress => $"http://127.0.0.1:{PlainPort}";

    /// <summary>Where admins (sidecarsctl) connect.</summary>
    public string AdminAddress => $"https://127.0.0.1:{TlsPort}";

    /// <param name="servingCertificate">
    /// When set, a third listener serves pod-agents over HTTPS with the certificate this returns for each new connection
    /// (the cluster agent's serving certificate, as rotated).
    /// </param>
    public static async Task<InProcessClusterAgent> StartAsync(
        TestPki pki, string storePath, IReadOnlyDictionary<string, string?> settings, Func<X509Certificate2>? servingCertificate = null)
    {
        var agent = new InProcessClusterAgent(pki, storePath, settings, servingCertificate);
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
        var clusters = config.ContainsKey("Sidecars:Clusters:Namespace");
        if (clusters)
        {
            builder.AddSidecarsClusters();
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, PlainPort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, TlsPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(_pki.ServerCertificate);
            });
            if (_servingCertificate is { } serving)
            {
                kestrel.Listen(IPAddress.Loopback, ServingPort, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    listen.UseHttps(https => https.ServerCertificateSelector = (_, _) => serving());
                });
            }
        });
        var app = builder.Build();
        app.MapSidecarsIdentity();
        if (clusters)
        {
            app.MapSidecarsClusters();
        }

        await app.StartAsync();
        if (PlainPort == 0)
        {
            var ports = app.Urls.Select(url => new Uri(url)).ToList();
            PlainPort = ports.Single(u => u.Scheme == "http").Port;
            var tls = ports.Where(u => u.Scheme == "https").Select(u => u.Port).ToList();
            TlsPort = tls[0];
            ServingPort = _servingCertificate is null ? 0 : tls[1];
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
