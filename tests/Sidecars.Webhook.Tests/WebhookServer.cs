using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sidecars.Webhook.Tests;

/// <summary>The real webhook host, started in-process on a loopback port with HTTPS.</summary>
internal sealed class WebhookServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookServer(WebApplication app, Uri address, TestCertificates certificates)
    {
        _app = app;
        Address = address;
        Certificates = certificates;
    }

    public Uri Address { get; }

    public TestCertificates Certificates { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Stops the host as the stop signal would (drain, then close), without waiting for it.</summary>
    public Task StopAsync() => _app.StopAsync();

    public X509Certificate2? LastServerCertificate { get; private set; }

    /// <param name="services">Changes to the host's services after the webhook's own (a replacement registered last wins).</param>
    public static async Task<WebhookServer> StartAsync(
        TestCertificates certificates, IDictionary<string, string?>? settings = null, string address = "127.0.0.1", int port = 0,
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sidecars:Webhook:Address"] = address,
            ["Sidecars:Webhook:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Sidecars:Webhook:MetricsPort"] = "0",
            ["Sidecars:Webhook:DrainPeriod"] = "00:00:00",
            ["Sidecars:Webhook:CertificateFile"] = certificates.CertificateFile,
            ["Sidecars:Webhook:KeyFile"] = certificates.KeyFile,
            ["Sidecars:Webhook:MaxRequestBytes"] = "65536",
            ["Sidecars:Injection:Registry"] = "registry.test/team",
            ["Sidecars:Injection:ImagePullSecret"] = "regcred",
            ["Sidecars:Injection:ClusterAgentAddress"] = "http://127.0.0.1:1",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddSidecarsWebhook();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapSidecarsWebhook();
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new WebhookServer(app, new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), certificates);
    }

    /// <summary>
    /// An HTTPS client that trusts only the test CA and remembers the certificate the server presented; unless
    /// <paramref name="pooled"/>, every request opens a new connection (and so sees the certificate served now).
    /// </summary>
    public HttpClient CreateClient(bool pooled = false, X509Certificate2? clientCertificate = null)
    {
        using var authority = Certificates.Authority.Load();
        var trusted = X509CertificateLoader.LoadCertificate(authority.RawData);
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = pooled ? Timeout.InfiniteTimeSpan : TimeSpan.Zero,
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    LastServerCertificate = presented;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(trusted);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(presented);
                },
            },
        };
        return new HttpClient(handler) { BaseAddress = Address };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
