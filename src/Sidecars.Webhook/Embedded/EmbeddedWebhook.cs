using System.Net;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sidecars.Kubernetes;
using Sidecars.Webhook.Registration;
using Sidecars.Certificates.Issuing;
using Sidecars.Webhook.Tls;

namespace Sidecars.Webhook.Embedded;

/// <summary>
/// The webhook hosted inside another process on a loopback port, with a certificate from a CA of its own: what the
/// local quick start, the benchmarks and the end-to-end tests register with a local control plane by URL.
/// </summary>
public sealed class EmbeddedWebhook : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private EmbeddedWebhook(WebApplication app, string directory, PemPair authority, Uri address)
    {
        _app = app;
        _directory = directory;
        Authority = authority;
        Address = address;
    }

    /// <summary>The CA that signed the serving certificate: the caBundle to register with.</summary>
    public PemPair Authority { get; }

    public Uri Address { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="kubeconfig">Cluster the webhook reads namespaces from; null runs it without a cluster.</param>
    /// <param name="settings">Configuration on top of the defaults (keys as in appsettings, e.g. <c>Sidecars:Injection:Registry</c>).</param>
    public static async Task<EmbeddedWebhook> StartAsync(string? kubeconfig, IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var directory = Directory.CreateTempSubdirectory("sidecars-webhook-").FullName;
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var authority = CertificateIssuer.CreateAuthority("sidecars-embedded-webhook-ca", now, TimeSpan.FromDays(1));
        var serving = CertificateIssuer.IssueServing(authority, ["localhost"], [IPAddress.Loopback], now, TimeSpan.FromHours(24));
        await File.WriteAllTextAsync(Path.Combine(directory, "tls.crt"), serving.CertificatePem, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "tls.key"), serving.KeyPem, cancellationToken);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Embedded" });
        builder.Logging.ClearProviders();
        var configuration = new Dictionary<string, string?>
        {
            ["Sidecars:Webhook:Address"] = "127.0.0.1",
            ["Sidecars:Webhook:Port"] = "0",
            ["Sidecars:Webhook:MetricsPort"] = "0",
            // No Service sends it traffic it would need to hand over.
            ["Sidecars:Webhook:DrainPeriod"] = "00:00:00",
            ["Sidecars:Webhook:Namespace"] = "kube-system",
            ["Sidecars:Webhook:CertificateFile"] = Path.Combine(directory, "tls.crt"),
            ["Sidecars:Webhook:KeyFile"] = Path.Combine(directory, "tls.key"),
            ["Sidecars:Webhook:Repair:Enabled"] = "false",
            ["Sidecars:Kubernetes:KubeconfigPath"] = kubeconfig,
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddSidecarsWebhook();
        var app = builder.Build();
        app.MapSidecarsWebhook();
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EmbeddedWebhook(app, directory, authority, new Uri(bound));
    }

    /// <summary>Registers this webhook with the cluster as MutatingWebhookConfiguration <paramref name="name"/>.</summary>
    public Task RegisterAsync(IKubernetes client, string name, string podFailurePolicy = "Fail", int timeoutSeconds = 3, CancellationToken cancellationToken = default)
        => KubernetesConnection.Of(client).CreateAsync(
            KubernetesWatch.CollectionPath("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"),
            WebhookConfigurationFactory.ForUrl(name, Address, Authority.CertificatePem, podFailurePolicy, timeoutSeconds: timeoutSeconds),
            WebhookJsonContext.Shared.V1MutatingWebhookConfiguration,
            cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_directory, true);
    }
}
