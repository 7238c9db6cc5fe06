using k8s;
using Sidecars.Testing;
using Sidecars.Webhook.Embedded;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>The real webhook host in-process on loopback HTTPS (<see cref="EmbeddedWebhook"/>), registered with the apiserver by URL.</summary>
internal sealed class InProcessWebhook : IAsyncDisposable
{
    private readonly EmbeddedWebhook _webhook;
    private readonly IKubernetes _client;
    private readonly string _name;

    private InProcessWebhook(EmbeddedWebhook webhook, IKubernetes client, string name)
    {
        _webhook = webhook;
        _client = client;
        _name = name;
    }

    /// <param name="clusterAgentAddress">Given to the injected pod-agents as SIDECARS_CLUSTER_AGENT.</param>
    public static async Task<InProcessWebhook> StartAsync(ControlPlaneFixture fixture, string clusterAgentAddress)
    {
        var own = await fixture.NewNamespaceAsync("sidecars-system");
        var webhook = await EmbeddedWebhook.StartAsync(fixture.ControlPlane.KubeconfigPath, new Dictionary<string, string?>
        {
            ["Sidecars:Webhook:Namespace"] = own,
            ["Sidecars:Injection:AgentImage"] = "LOCALREGISTRY/sidecars/agent:test",
            ["Sidecars:Injection:Registry"] = "registry.test/identity",
            ["Sidecars:Injection:ClusterAgentAddress"] = clusterAgentAddress,
        }, CancellationToken.None);
        var name = "sidecars-" + own;
        await webhook.RegisterAsync(fixture.Client, name, timeoutSeconds: 10);
        return new InProcessWebhook(webhook, fixture.Client, name);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(_name);
        await _webhook.DisposeAsync();
    }
}
