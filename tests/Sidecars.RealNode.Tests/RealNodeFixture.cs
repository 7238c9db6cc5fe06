using k8s;
using k8s.Models;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The real-node lane with the project's webhook running as pods from its image: the webhook parts of deploy/ as
/// shipped (its registry name is served by the lane's local registry). Starts the lane when it does not run, and then
/// stops it again after the tests.
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
            try
            {
                kubeconfig = await Lane.UpAsync();
            }
            catch
            {
                // A half-started lane is taken down here: a fixture that failed to start is not disposed.
                await Lane.DownAsync();
                throw;
            }
        }

        _cluster = new LaneCluster(kubeconfig);
        await _cluster.KubectlAsync(["apply", "-f", "-"], await WebhookPartsOfDeployAsync(_cluster));
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

    /// <summary>
    /// deploy/ rendered by kubectl's kustomize without the cluster agent's objects, whose image and configuration are
    /// not part of this lane yet. (kubectl 1.20's kustomize leaves empty objects behind a <c>$patch: delete</c>.)
    /// </summary>
    private static async Task<string> WebhookPartsOfDeployAsync(LaneCluster cluster)
    {
        var rendered = await cluster.KubectlAsync(["kustomize", Path.Combine(Lane.RepositoryRoot, "deploy")]);
        var documents = rendered.Split("\n---\n").Where(d => !d.Contains("\n  name: sidecars-cluster-agent\n", StringComparison.Ordinal)).ToList();
        Assert.Contains(documents, d => d.Contains("kind: Deployment", StringComparison.Ordinal) && d.Contains("\n  name: " + WebhookName + "\n", StringComparison.Ordinal));
        return string.Join("\n---\n", documents);
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
