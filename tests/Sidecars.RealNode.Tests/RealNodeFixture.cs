using k8s;
using k8s.Models;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The real-node lane with the project's webhook running as a pod from its image (tests/realnode/webhook: the webhook
/// parts of deploy/). Starts the lane when it does not run, and then stops it again after the tests.
/// </summary>
public sealed class RealNodeFixture : IAsyncLifetime
{
    public const string WebhookNamespace = "sidecars-system";
    public const string WebhookName = "sidecars-webhook";

    private static readonly TimeSpan WebhookTimeout = TimeSpan.FromMinutes(5);

    private LaneCluster? _cluster;
    private bool _startedLane;

    public LaneCluster Cluster => _cluster ?? throw new InvalidOperationException("the lane has not started");

    public async Task InitializeAsync()
    {
        if (new RealNodeFactAttribute().Skip is not null)
        {
            return;
        }

        var kubeconfig = await Lane.StatusAsync();
        if (kubeconfig is null)
        {
            _startedLane = true;
            kubeconfig = await Lane.UpAsync();
        }

        _cluster = new LaneCluster(kubeconfig);
        await _cluster.KubectlAsync(["apply", "-k", Path.Combine(Lane.Scripts, "webhook")]);
        await _cluster.Client.WaitForDeploymentAsync(
            WebhookNamespace, WebhookName, d => d.IsAvailable(), "the webhook Deployment Available", WebhookTimeout);
        // The elected replica issues its serving certificate and writes its CA into the configuration it serves.
        await Eventually.UntilAsync(
            async () =>
            {
                var configuration = await _cluster.Client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(WebhookName);
                return configuration.Webhooks.All(w => w.ClientConfig.CaBundle is { Length: > 0 });
            },
            "the webhook's caBundle in its MutatingWebhookConfiguration",
            WebhookTimeout);
    }

    public async Task DisposeAsync()
    {
        _cluster?.Dispose();
        if (_startedLane)
        {
            await Lane.DownAsync();
        }
    }

    /// <summary>A namespace whose pods the webhook must mutate (it fails closed there).</summary>
    public Task<string> NewInjectedNamespaceAsync(string prefix) =>
        Cluster.NewNamespaceAsync(prefix, new Dictionary<string, string> { ["sidecars.io/injection"] = "enabled" });

    /// <summary>Applies a manifest with kubectl and waits until the pod is Ready; returns it and the time that took.</summary>
    public async Task<(V1Pod Pod, TimeSpan Elapsed)> ApplyUntilReadyAsync(string ns, string name, string manifest, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Cluster.KubectlAsync(["apply", "-n", ns, "-f", "-"], manifest);
        try
        {
            var pod = await Cluster.Client.WaitForPodAsync(ns, name, p => p is not null && p.IsReady(), $"pod {ns}/{name} Ready", timeout);
            return (pod!, clock.Elapsed);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nevents:\n{string.Join('\n', await Cluster.EventsOfAsync(ns, name))}", e);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RealNodeCollection : ICollectionFixture<RealNodeFixture>
{
    public const string Name = "real node";
}
