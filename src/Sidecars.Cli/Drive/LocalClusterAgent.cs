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
using Sidecars.LocalCluster;

namespace Sidecars.Cli.Drive;

/// <summary>
/// A local control plane (with its simulated kubelet) and the cluster agent's clusters capability in this process,
/// on an HTTPS loopback port with the admin policy on as in production: <see cref="Channel"/> is an admin's.
/// </summary>
internal sealed class LocalClusterAgent : IAsyncDisposable
{
    private readonly LocalControlPlane _controlPlane;
    private readonly WebApplication _app;
    private readonly string _directory;
    private readonly X509Certificate2[] _certificates;

    private LocalClusterAgent(LocalControlPlane controlPlane, WebApplication app, string directory, GrpcChannel channel, X509Certificate2[] certificates)
    {
        _controlPlane = controlPlane;
        _app = app;
        _directory = directory;
        Channel = channel;
        _certificates = certificates;
    }

    public GrpcChannel Channel { get; }

    public static async Task<LocalClusterAgent> StartAsync(string @namespace, TextWriter output, CancellationToken cancellationToken)
    {
        output.WriteLine("Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a simulated kubelet on 127.0.0.1 ...");
        var controlPlane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions(), cancellationToken);
        var directory = Directory.CreateTempSubdirectory("sidecars-drive-").FullName;
        try
        {
            await controlPlane.CreateNamespaceAsync(@namespace, new Dictionary<string, string>(), cancellationToken);
            var serverCa = AdminCredentials.CreateCertificateAuthority("drive-server-ca");
            var adminCa = AdminCredentials.CreateCertificateAuthority("drive-admin-ca");
            var server = AdminCredentials.IssueServerCertificate(serverCa, "127.0.0.1");
            var admin = AdminCredentials.IssueClientCertificate(adminCa, "drive-admin");
            var adminCaPath = Path.Combine(directory, "admin-ca.pem");
            await File.WriteAllTextAsync(adminCaPath, adminCa.ExportCertificatePem(), cancellationToken);

            var builder = WebApplication.CreateBuilder();
            builder.Logging.ClearProviders();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Sidecars:Kubernetes:KubeconfigPath"] = controlPlane.KubeconfigPath,
                ["Sidecars:Identity:Store"] = "File",
                ["Sidecars:Identity:FilePath"] = Path.Combine(directory, "identity.json"),
                ["Sidecars:Identity:AdminClientCaFile"] = adminCaPath,
                ["Sidecars:Clusters:Namespace"] = @namespace,
            });
            // The identity capability brings the admin authentication the clusters service requires.
            builder.AddSidecarsIdentity();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                l.UseHttps(server);
            }));
            builder.AddSidecarsClusters();
            var app = builder.Build();
            app.MapSidecarsClusters();
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            output.WriteLine($"  apiserver {controlPlane.ApiServerUrl}, cluster agent {address}, namespace {@namespace}");
            var channel = AdminCredentials.CreateChannel(address, admin, [X509CertificateLoader.LoadCertificate(serverCa.RawData)]);
            return new LocalClusterAgent(controlPlane, app, directory, channel, [serverCa, adminCa, server, admin]);
        }
        catch
        {
            await controlPlane.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _controlPlane.DisposeAsync();
        foreach (var certificate in _certificates)
        {
            certificate.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }
}
