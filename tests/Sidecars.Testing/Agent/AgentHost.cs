using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sidecars.Identity.Admin;

namespace Sidecars.Testing.Agent;

/// <summary>
/// The cluster agent's clusters and networks capabilities, hosted in-process on an HTTPS 127.0.0.1:0 port against a
/// kubeconfig, with the admin policy on as in production: <see cref="Channel"/> presents an admin client certificate.
/// </summary>
public sealed class AgentHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly AgentHostPki _pki;
    private int _disposed;

    private AgentHost(WebApplication app, AgentHostPki pki, string address, string logPath)
    {
        _app = app;
        _pki = pki;
        Address = address;
        LogPath = logPath;
        Channel = AdminCredentials.CreateChannel(address, pki.AdminClient, pki.ServerRoots);
    }

    /// <summary>The Lease duration the hosts elect with.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);

    /// <summary>How often a host renews or tries to take the Lease.</summary>
    public static readonly TimeSpan RetryPeriod = TimeSpan.FromMilliseconds(500);

    public string Address { get; }

    /// <summary>A channel authenticated as an admin.</summary>
    public GrpcChannel Channel { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The host's log file.</summary>
    public string LogPath { get; }

    /// <summary>Cancelled when the host stops, also on its own (a leader that loses its Lease stops the process).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>The last lines of the host's log, for a failure message.</summary>
    public string LogTail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(log {LogPath} unreadable: {e.Message})";
        }
    }

    public static async Task<AgentHost> StartAsync(string kubeconfig, IDictionary<string, string?> settings)
    {
        var pki = new AgentHostPki();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        var log = Path.Combine(AppContext.BaseDirectory, "agent-logs", $"{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        builder.Logging.AddProvider(new FileLoggerProvider(log));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System", LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sidecars:Kubernetes:KubeconfigPath"] = kubeconfig,
            ["Sidecars:Identity:Store"] = "File",
            ["Sidecars:Identity:FilePath"] = Path.Combine(pki.Directory, "identity.json"),
            ["Sidecars:Identity:AdminClientCaFile"] = pki.AdminCaPemPath,
            // The Lease lives beside the test's objects; a leader that dies is replaced within LeaseDuration +
            // RetryPeriod, and a slow apiserver on a loaded test machine gets 25 s before a leader steps down (which
            // stops the host: an in-process host cannot be restarted the way a pod is).
            ["Sidecars:Leadership:Namespace"] = settings.TryGetValue("Sidecars:Networks:Namespace", out var ns) ? ns
                : settings.TryGetValue("Sidecars:Clusters:Namespace", out var clusters) ? clusters : null,
            // The network CA lives beside the test's objects too.
            ["Sidecars:Networks:CaNamespace"] = settings.TryGetValue("Sidecars:Networks:Namespace", out var peers) ? peers
                : settings.TryGetValue("Sidecars:Clusters:Namespace", out var owner) ? owner : null,
            ["Sidecars:Leadership:LeaseDuration"] = LeaseDuration.ToString(),
            ["Sidecars:Leadership:RenewDeadline"] = "00:00:25",
            ["Sidecars:Leadership:RetryPeriod"] = RetryPeriod.ToString(),
        });
        builder.Configuration.AddInMemoryCollection(settings);
        // The identity capability brings the admin authentication the other two require, and the HTTPS defaults
        // (client certificates accepted) that the endpoint below takes when it is configured.
        builder.AddSidecarsIdentity();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            l.UseHttps(pki.ServerCertificate);
        }));
        builder.AddSidecarsClusters();
        builder.AddSidecarsNetworks();
        var app = builder.Build();
        app.MapSidecarsClusters();
        app.MapSidecarsNetworks();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AgentHost(app, pki, address, log);
    }

    /// <summary>A channel that trusts the server but presents no client certificate.</summary>
    public GrpcChannel AnonymousChannel() => AdminCredentials.CreateChannel(Address, null, _pki.ServerRoots);

    /// <summary>A channel presenting a certificate from a CA the agent does not trust.</summary>
    public GrpcChannel StrangerChannel() => AdminCredentials.CreateChannel(Address, _pki.StrangerClient, _pki.ServerRoots);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _pki.Dispose();
    }

    /// <summary>The agent's serving certificate and CA, an admin CA with one admin, and a stranger's own CA and certificate.</summary>
    private sealed class AgentHostPki : IDisposable
    {
        private readonly X509Certificate2 _serverCa = AdminCredentials.CreateCertificateAuthority("agent-host-server-ca");
        private readonly X509Certificate2 _adminCa = AdminCredentials.CreateCertificateAuthority("agent-host-admin-ca");
        private readonly X509Certificate2 _strangerCa = AdminCredentials.CreateCertificateAuthority("agent-host-admin-ca");

        public AgentHostPki()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("sidecars-agent-host-").FullName;
            ServerCertificate = AdminCredentials.IssueServerCertificate(_serverCa, "127.0.0.1");
            AdminClient = AdminCredentials.IssueClientCertificate(_adminCa, "test-admin");
            StrangerClient = AdminCredentials.IssueClientCertificate(_strangerCa, "test-admin");
            ServerRoots = [X509CertificateLoader.LoadCertificate(_serverCa.RawData)];
            AdminCaPemPath = Path.Combine(Directory, "admin-ca.pem");
            File.WriteAllText(AdminCaPemPath, _adminCa.ExportCertificatePem());
        }

        public string Directory { get; }

        public X509Certificate2 ServerCertificate { get; }

        public X509Certificate2 AdminClient { get; }

        public X509Certificate2 StrangerClient { get; }

        public X509Certificate2Collection ServerRoots { get; }

        public string AdminCaPemPath { get; }

        public void Dispose()
        {
            foreach (var certificate in new[] { _serverCa, _adminCa, _strangerCa, ServerCertificate, AdminClient, StrangerClient })
            {
                certificate.Dispose();
            }

            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
