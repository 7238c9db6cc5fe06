using System.Net;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sidecars.Testing;
using Sidecars.Webhook;
using Sidecars.Webhook.Registration;
using Sidecars.Webhook.Tls;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>The real webhook host in-process on loopback HTTPS, registered with the apiserver by URL.</summary>
internal sealed class InProcessWebhook : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IKubernetes _client;
    private readonly string _name;

    private InProcessWebhook(WebApplication app, IKubernetes client, string name)
    {
        _app = app;
        _client = client;
        _name = name;
    }

    /// <param name="clusterAgentAddress">Given to the injected pod-agents as SIDECARS_CLUSTER_AGENT.</param>
    public static async Task<InProcessWebhook> StartAsync(ControlPlaneFixture fixture, string directory, string clusterAgentAddress)
    {
        Directory.CreateDirectory(directory);
        var authority = CertificateIssuer.CreateAuthority("identity-e2e-ca", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
        var serving = CertificateIssuer.IssueServing(authority, ["localhost"], [IPAddress.Loopback], DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
        var certificate = Path.Combine(directory, "tls.crt");
        var key = Path.Combine(directory, "tls.key");
        await File.WriteAllTextAsync(certificate, serving.CertificatePem);
        await File.WriteAllTextAsync(key, serving.KeyPem);
        var own = await fixture.NewNamespaceAsync("sidecars-system");

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sidecars:Kubernetes:KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
            ["Sidecars:Webhook:Namespace"] = own,
            ["Sidecars:Webhook:Repair:Enabled"] = "false",
            ["Sidecars:Webhook:Address"] = "127.0.0.1",
            ["Sidecars:Webhook:Port"] = "0",
            ["Sidecars:Webhook:MetricsPort"] = "0",
            ["Sidecars:Webhook:CertificateFile"] = certificate,
            ["Sidecars:Webhook:KeyFile"] = key,
            ["Sidecars:Injection:AgentImage"] = "LOCALREGISTRY/sidecars/agent:test",
            ["Sidecars:Injection:Registry"] = "registry.test/identity",
            ["Sidecars:Injection:ClusterAgentAddress"] = clusterAgentAddress,
        });
        builder.AddSidecarsWebhook();
        var app = builder.Build();
        app.MapSidecarsWebhook();
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var address = new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        var name = "sidecars-" + own;
        await fixture.Client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(
            WebhookConfigurationFactory.ForUrl(name, address, authority.CertificatePem, "Fail", "IfNeeded", timeoutSeconds: 10));
        return new InProcessWebhook(app, fixture.Client, name);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(_name);
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
