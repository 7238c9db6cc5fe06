using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Controllers;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Webhook.Admission;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Repair;

/// <summary>
/// On the elected replica only: finds opted-in pods that lack their sidecars or owner label (admitted while the webhook
/// was not called), reports each once as a <c>SidecarsMissing</c> Event and in the metrics, and optionally evicts
/// controller-owned ones so they are recreated through admission. A pod event only queues the pod; a reconcile reads the
/// pod from the term's informer (a watch of every pod, started when the term starts and stopped when it ends) and asks
/// <see cref="RepairPlanner"/> what it lacks. Every pod is queued when the loop starts (a replica that takes over after
/// an outage reports at once), on every change, and again every
/// <see cref="RepairOptions.Interval"/> (a namespace that opted in later).
/// </summary>
public sealed partial class RepairLoop : BackgroundService
{
    private const int Workers = 2;

    private readonly KubernetesConnection _client;
    private readonly RepairPlanner _planner;
    private readonly INamespaceLabelSource _namespaces;
    private readonly RepairOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RepairLoop> _logger;
    private readonly LeaseElector _elector;
    private readonly TimeSpan _watchTimeout;

    /// <summary>The pods of the current term (a watch of every pod, held only while this replica leads).</summary>
    private volatile ResourceInformer<V1Pod>? _pods;

    /// <summary>The queue of the current term; null while this replica does not lead.</summary>
    private volatile WorkQueue<string>? _queue;

    /// <summary>The pods found lacking, by namespace/name, with the finding reported for the pod's uid.</summary>
    private readonly ConcurrentDictionary<string, (string Uid, RepairFinding Finding)> _found = new(StringComparer.Ordinal);

    public RepairLoop(
        KubernetesConnection client,
        SharedInformerFactory informers,
        LeaseElector elector,
        RepairPlanner planner,
        INamespaceLabelSource namespaces,
        IOptions<RepairOptions> options,
        TimeProvider time,
        ILogger<RepairLoop> logger)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _elector = elector;
        _planner = planner;
        _namespaces = namespaces;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _watchTimeout = informers.WatchTimeout;
    }

    /// <summary>Whether this replica holds its watch of every pod: only while it leads.</summary>
    public bool Watching => _pods is not null;

    /// <summary>The pods found lacking and reported so far, still present and still lacking.</summary>
    public IReadOnlyList<RepairFinding> Findings => [.. _found.Values.Select(f => f.Finding)];

    /// <summary>
    /// Every term this replica leads, the loop runs; a lost Lease ends the term and the replica waits to lead again
    /// (the admission path of the process is never stopped for it). Pods reported in an earlier term are not reported
    /// again.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            CancellationToken term;
            try
            {
                term = await _elector.WaitForLeadershipAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            using var leading = CancellationTokenSource.CreateLinkedTokenSource(term, stoppingToken);
            WebhookMetrics.PodsMissingInjection.Set(_found.Count);
            await LeadAsync(leading.Token);

            // Only the leader reports a count, so max() over the replicas is the leader's.
            WebhookMetrics.PodsMissingInjection.Set(0);
            if (!stoppingToken.IsCancellationRequested)
            {
                Log.TermEnded(_logger);
            }
        }
    }

    private async Task LeadAsync(CancellationToken leading)
    {
        // Its own informer each term, stopped when the term ends: a replica that does not lead holds no pod cache.
        await using var pods = new ResourceInformer<V1Pod>(KubernetesResourceSources.Pods(_client, null, null, watchTimeout: _watchTimeout), _logger);
        using var queue = new WorkQueue<string>("repair", _time);
        _pods = pods;
        _queue = queue;
        try
        {
            using var subscription = pods.Subscribe(OnPod, replay: true);
            pods.Start();
            try
            {
                await pods.WaitForSyncAsync(leading);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Log.Started(_logger, pods.Snapshot().Count);
            // Ends when the term ends or the host stops.
            await ReconcileLoop.RunAsync(queue, Workers, ReconcileAsync, _logger, _options.Interval, () =>
            {
                foreach (var pod in pods.Snapshot())
                {
                    queue.Add(Key(pod));
                }
            }, _time, leading);
        }
        finally
        {
            _queue = null;
            _pods = null;
        }
    }

    private void OnPod(ResourceEvent<V1Pod> evt) => _queue?.Add(Key(evt.Item));

    private async Task<Reconciled> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (_pods is not { } pods || !pods.TryGet(key[..slash], key[(slash + 1)..], out var pod) || pod is null)
        {
            Forget(key);
            return Reconciled.Done;
        }

        var labels = await _namespaces.GetLabelsAsync(pod.Metadata.NamespaceProperty, cancellationToken);
        if (_planner.Inspect(pod, labels) is not { } finding)
        {
            Forget(key);
            return Reconciled.Done;
        }

        var uid = pod.Metadata.Uid ?? string.Empty;
        if (!_found.TryGetValue(key, out var reported) || reported.Uid != uid)
        {
            await ReportAsync(pod, finding, cancellationToken);
            _found[key] = (uid, finding);
            WebhookMetrics.PodsReported.Inc();
            WebhookMetrics.PodsMissingInjection.Set(_found.Count);
        }

        // A refused eviction (a PodDisruptionBudget says not now) is tried again after an interval.
        return _options.Evict && finding.HasController && !await EvictAsync(finding, cancellationToken)
            ? Reconciled.After(_options.Interval)
            : Reconciled.Done;
    }

    private void Forget(string key)
    {
        if (_found.TryRemove(key, out _))
        {
            WebhookMetrics.PodsMissingInjection.Set(_found.Count);
        }
    }

    private async Task ReportAsync(V1Pod pod, RepairFinding finding, CancellationToken cancellationToken)
    {
        var missing = string.Join(", ", finding.Missing);
        Log.Found(_logger, finding.Namespace, finding.Name, missing);
        var now = _time.GetUtcNow().UtcDateTime;
        await _client.CreateAsync(
            KubernetesWatch.CollectionPath("", "v1", "events", finding.Namespace),
            new Corev1Event
            {
                Metadata = new V1ObjectMeta { GenerateName = pod.Metadata.Name + ".", NamespaceProperty = finding.Namespace },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = "v1", Kind = "Pod", Name = pod.Metadata.Name, NamespaceProperty = finding.Namespace, Uid = pod.Metadata.Uid,
                },
                Reason = "SidecarsMissing",
                Message = $"Admitted without the Sidecars webhook; missing: {missing}" + (finding.HasController && _options.Evict ? "; evicting so it is recreated" : string.Empty),
                Type = "Warning",
                Source = new V1EventSource { Component = "sidecars-webhook" },
                FirstTimestamp = now,
                LastTimestamp = now,
                Count = 1,
            },
            WebhookJsonContext.Shared.Corev1Event,
            cancellationToken);
    }

    /// <summary>False when the eviction was refused for now (429).</summary>
    private async Task<bool> EvictAsync(RepairFinding finding, CancellationToken cancellationToken)
    {
        try
        {
            await _client.PostAsync(
                KubernetesRequests.ObjectPath("", "v1", "pods", finding.Namespace, finding.Name) + "/eviction",
                new V1Eviction { Metadata = new V1ObjectMeta { Name = finding.Name, NamespaceProperty = finding.Namespace } },
                WebhookJsonContext.Shared.V1Eviction,
                cancellationToken);
            WebhookMetrics.RepairEvictions.WithLabels("evicted").Inc();
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Gone already: its delete event forgets it.
            return true;
        }
        catch (HttpOperationException e)
        {
            WebhookMetrics.RepairEvictions.WithLabels(((int)e.Response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
            Log.EvictionRefused(_logger, finding.Namespace, finding.Name, e.Message);
            return e.Response.StatusCode != HttpStatusCode.TooManyRequests;
        }
    }

    private static string Key(V1Pod pod) => pod.Metadata.NamespaceProperty + "/" + pod.Metadata.Name;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Pod {Namespace}/{Name} was admitted without Sidecars; missing {Missing}")]
        public static partial void Found(ILogger logger, string @namespace, string name, string missing);

        [LoggerMessage(2, LogLevel.Information, "Repair loop started on the elected replica: checking {Count} pods")]
        public static partial void Started(ILogger logger, int count);

        [LoggerMessage(4, LogLevel.Information, "Repair loop paused: this replica no longer leads; waiting to lead again")]
        public static partial void TermEnded(ILogger logger);

        [LoggerMessage(3, LogLevel.Warning, "Eviction of pod {Namespace}/{Name} refused: {Reason}")]
        public static partial void EvictionRefused(ILogger logger, string @namespace, string name, string reason);
    }
}
