using Sidecars.Testing;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>The real webhook host in-process, talking to the local control plane and registered with it by URL.</summary>
internal sealed class ClusterWebhook : IAsyncDisposable
{
    private readonly ControlPlaneFixture _fixture;

    private ClusterWebhook(ControlPlaneFixture fixture, WebhookServer server, string configurationName)
    {
        _fixture = fixture;
        Server = server;
        ConfigurationName = configurationName;
    }

    public WebhookServer Server { get; }

    public string ConfigurationName { get; }

    /// <summary>
    /// Settings every end-to-end webhook uses: the sidecar image is one the simulated kubelet keeps virtual, and reviews
    /// are accepted only from the apiserver's own client certificate.
    /// </summary>
    public static Dictionary<string, string?> Settings(ControlPlaneFixture fixture, string ownNamespace) => new()
    {
        ["Sidecars:Webhook:ClientCertificateAuthorityFile"] = fixture.ControlPlane.CaCertificateFile,
        ["Sidecars:Webhook:ClientCertificateNames:0"] = Sidecars.LocalCluster.LocalControlPlane.WebhookClientName,
        ["Sidecars:Kubernetes:KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
        ["Sidecars:Webhook:Namespace"] = ownNamespace,
        ["Sidecars:Webhook:Repair:Enabled"] = "false",
        ["Sidecars:Injection:AgentImage"] = "LOCALREGISTRY/sidecars/test-sidecar:1",
    };

    public static async Task<ClusterWebhook> StartAsync(ControlPlaneFixture fixture, TestCertificates certificates, string failurePolicy = "Fail", IDictionary<string, string?>? extra = null)
    {
        var own = await fixture.NewNamespaceAsync("sidecars-system");
        var settings = Settings(fixture, own);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var server = await WebhookServer.StartAsync(certificates, settings);
        var name = "sidecars-" + own;
        await WebhookRegistration.RegisterAsync(fixture.Client, name, server.Address, certificates.Authority.CertificatePem, failurePolicy);
        return new ClusterWebhook(fixture, server, name);
    }

    public async ValueTask DisposeAsync()
    {
        await WebhookRegistration.DeleteAsync(_fixture.Client, ConfigurationName);
        await Server.DisposeAsync();
    }
}
