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
using Sidecars.Contracts.V1;
using Sidecars.Identity;
using Sidecars.Identity.Admin;
using IdentityClient = Sidecars.Contracts.V1.Identity.IdentityClient;

namespace Sidecars.Testing.Identity;

/// <summary>A real cluster agent (identity capability only) on an HTTPS loopback port with admin mTLS.</summary>
public sealed class ClusterAgentHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ClusterAgentHost(WebApplication app, TestPki pki, string address)
    {
        _app = app;
        Pki = pki;
        Address = address;
    }

    public TestPki Pki { get; }

    public string Address { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<ClusterAgentHost> StartAsync(TestPki pki, string storePath, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var config = new Dictionary<string, string?>
        {
            ["Sidecars:Identity:Store"] = "File",
            ["Sidecars:Identity:FilePath"] = storePath,
            ["Sidecars:Identity:AdminClientCaFile"] = pki.AdminCaPemPath,
            ["Sidecars:Identity:FailureBurst"] = "1000",

            // No cluster here to review pod tokens: these tests cover the secret, keys and names; attestation is
            // covered on the control plane (Sidecars.Identity.EndToEnd.Tests).
            ["Sidecars:Identity:ReplicaAttestation"] = "SecretOnly",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.AddSidecarsIdentity();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(pki.ServerCertificate);
        }));
        var app = builder.Build();
        app.MapSidecarsIdentity();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ClusterAgentHost(app, pki, address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
    }

    public GrpcChannel AdminChannel() => AdminCredentials.CreateChannel(Address, Pki.AdminClient, Pki.ServerRoots);

    public GrpcChannel AnonymousChannel() => AdminCredentials.CreateChannel(Address, null, Pki.ServerRoots);

    public IdentityClient Admin() => new(AdminChannel());

    public IdentityClient Anonymous() => new(AnonymousChannel());

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Certificates of a test deployment: a server CA (and the cluster agent's certificate) and an admin CA.</summary>
public sealed class TestPki : IDisposable
{
    public TestPki(string directory)
    {
        Directory.CreateDirectory(directory);
        ServerCa = AdminCredentials.CreateCertificateAuthority("test-server-ca");
        ServerCertificate = AdminCredentials.IssueServerCertificate(ServerCa, "127.0.0.1", "localhost");
        AdminCa = AdminCredentials.CreateCertificateAuthority("test-admin-ca");
        AdminClient = AdminCredentials.IssueClientCertificate(AdminCa, "alice");
        ServerRoots = [X509CertificateLoader.LoadCertificate(ServerCa.RawData)];
        AdminCaPemPath = Path.Combine(directory, "admin-ca.pem");
        File.WriteAllText(AdminCaPemPath, AdminCa.ExportCertificatePem());
        ServerCaPemPath = Path.Combine(directory, "server-ca.pem");
        File.WriteAllText(ServerCaPemPath, ServerCa.ExportCertificatePem());
    }

    public X509Certificate2 ServerCa { get; }

    public X509Certificate2 ServerCertificate { get; }

    public X509Certificate2 AdminCa { get; }

    public X509Certificate2 AdminClient { get; }

    public X509Certificate2Collection ServerRoots { get; }

    public string AdminCaPemPath { get; }

    public string ServerCaPemPath { get; }

    public void Dispose()
    {
        ServerCa.Dispose();
        ServerCertificate.Dispose();
        AdminCa.Dispose();
        AdminClient.Dispose();
    }
}

/// <summary>A per-test temporary directory.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        // Unix socket paths are limited to ~108 bytes, so stay short.
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sid-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
