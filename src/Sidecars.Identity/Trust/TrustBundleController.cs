using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Controllers;

namespace Sidecars.Identity.Trust;

/// <summary>
/// Keeps the ConfigMap <see cref="SidecarsNames.TrustBundleConfigMap"/> of every opted-in namespace (and of every
/// namespace running pods with an injected pod-agent, opted in by annotation) equal to the CA bundle of the cluster
/// agent's TLS Secret, so pod-agents verify the cluster agent without manual steps. Informer handlers only queue
/// namespace names: a change of a namespace, of its ConfigMap or of a pod-agent pod in it queues that namespace, a
/// change of the Secret (a rotation) queues every namespace that has or wants the ConfigMap. The reconcile of a namespace reads
/// the three informers and acts on <see cref="TrustBundlePlanner.Decide"/>: a server-side apply (idempotent, so two
/// replicas doing it at once are harmless) or the removal of the ConfigMap from a namespace that opted out.
/// </summary>
public sealed partial class TrustBundleController : BackgroundService
{
    private const int Workers = 2;

    private readonly IKubernetes _client;
    private readonly TrustOptions _options;
    private readonly ILogger<TrustBundleController> _logger;
    private readonly ResourceInformer<V1Namespace> _namespaces;
    private readonly ResourceInformer<V1ConfigMap> _configMaps;
    private readonly ResourceInformer<V1Secret> _secret;
    private readonly ResourceInformer<V1Pod> _podAgents;
    private readonly WorkQueue<string> _queue;

    public TrustBundleController(
        IKubernetes client, SharedInformerFactory informers, IOptions<TrustOptions> options, TimeProvider time, ILogger<TrustBundleController> logger)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options.Value;
        _logger = logger;
        _namespaces = informers.Namespaces();
        _configMaps = informers.ConfigMaps(null, "metadata.name=" + SidecarsNames.TrustBundleConfigMap);
        _secret = informers.Secret(_options.Namespace, SidecarsNames.ClusterAgentTlsSecret);
        _podAgents = informers.Pods(null, SidecarsLabels.PodAgent + "=true");
        _queue = new WorkQueue<string>("trust-bundles", time);
    }

    public override void Dispose()
    {
        _queue.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var namespaces = _namespaces.Subscribe(e => _queue.Add(e.Item.Metadata.Name), replay: true);
        using var configMaps = _configMaps.Subscribe(e => _queue.Add(e.Item.Metadata.NamespaceProperty), replay: true);
        using var secret = _secret.Subscribe(_ => QueueAll(), replay: true);
        using var pods = _podAgents.Subscribe(e => _queue.Add(e.Item.Metadata.NamespaceProperty), replay: true);
        _namespaces.Start();
        _configMaps.Start();
        _secret.Start();
        _podAgents.Start();
        try
        {
            await Task.WhenAll(
                _namespaces.WaitForSyncAsync(stoppingToken), _configMaps.WaitForSyncAsync(stoppingToken),
                _secret.WaitForSyncAsync(stoppingToken), _podAgents.WaitForSyncAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (Bundle() is null)
        {
            Log.NoBundle(_logger, _options.Namespace, SidecarsNames.ClusterAgentTlsSecret, SidecarsNames.ClusterAgentCaKey);
        }

        await ReconcileLoop.RunAsync(_queue, Workers, ReconcileAsync, _logger, stoppingToken);
    }

    private void QueueAll()
    {
        foreach (var name in _namespaces.Snapshot().Where(TrustBundlePlanner.IsOptedIn).Select(n => n.Metadata.Name)
            .Concat(_configMaps.Snapshot().Select(c => c.Metadata.NamespaceProperty))
            .Concat(_podAgents.Snapshot().Select(p => p.Metadata.NamespaceProperty)))
        {
            _queue.Add(name);
        }
    }

    private string? Bundle() =>
        TrustBundlePlanner.Bundle(_secret.TryGet(_options.Namespace, SidecarsNames.ClusterAgentTlsSecret, out var secret) ? secret : null);

    private async Task<Reconciled> ReconcileAsync(string @namespace, CancellationToken ct)
    {
        var ns = _namespaces.TryGet(null, @namespace, out var observed) ? observed : null;
        var current = _configMaps.TryGet(@namespace, SidecarsNames.TrustBundleConfigMap, out var map) ? map : null;
        var bundle = Bundle();
        var hasPodAgents = _podAgents.Snapshot().Any(p => p.Metadata.NamespaceProperty == @namespace && p.Metadata.DeletionTimestamp is null);
        switch (TrustBundlePlanner.Decide(ns, bundle, current, hasPodAgents))
        {
            case TrustBundleAction.Apply:
                await _client.ApplyAsync(TrustBundlePlanner.Desired(@namespace, bundle!), ct);
                Log.Applied(_logger, @namespace, SidecarsNames.TrustBundleConfigMap, current is null ? "created" : "updated");
                break;
            case TrustBundleAction.Delete:
                try
                {
                    await _client.CoreV1.DeleteNamespacedConfigMapAsync(SidecarsNames.TrustBundleConfigMap, @namespace, cancellationToken: ct);
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    // Already gone.
                }

                Log.Removed(_logger, @namespace, SidecarsNames.TrustBundleConfigMap);
                break;
        }

        return Reconciled.Done;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "ConfigMap {Namespace}/{Name} {Change}: the cluster agent's CA bundle")]
        public static partial void Applied(ILogger logger, string @namespace, string name, string change);

        [LoggerMessage(2, LogLevel.Information, "ConfigMap {Namespace}/{Name} removed: the namespace opted out and runs no pod-agent")]
        public static partial void Removed(ILogger logger, string @namespace, string name);

        [LoggerMessage(3, LogLevel.Warning, "Secret {Namespace}/{Name} has no {Key} yet: no CA bundle to deliver to opted-in namespaces until it has")]
        public static partial void NoBundle(ILogger logger, string @namespace, string name, string key);
    }
}
