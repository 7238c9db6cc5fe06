using System.Diagnostics;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Controllers;
using Sidecars.Kubernetes.Leadership;

namespace Sidecars.Clusters;

/// <summary>
/// Connects the clusters' state machine to Kubernetes: Deployment and pod events (and a create deadline that asks for
/// a delete) queue the cluster's name; a reconcile feeds the machine the informers' current view of the cluster. On the
/// replica that leads (every replica when none is elected) it also performs the delete a passed deadline asks for,
/// retried with backoff. Callers' create and delete calls
/// are made on their request by the replica they reached.
/// </summary>
public sealed partial class ClusterManager : IHostedService, IDisposable
{
    /// <summary>Clusters reconciled side by side (each by one worker at a time).</summary>
    private const int Workers = 2;

    private readonly IKubernetes _client;
    private readonly ClustersOptions _options;
    private readonly ILogger<ClusterManager> _logger;
    private readonly ResourceInformer<V1Deployment> _deployments;
    private readonly ResourceInformer<V1Pod> _pods;
    private readonly LeaseElector? _elector;
    private readonly WorkQueue<string> _queue;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _reconciling = Task.CompletedTask;
    private int _disposed;

    /// <param name="elector">The cluster agent's election; null when this process is the only replica.</param>
    public ClusterManager(
        IKubernetes client, SharedInformerFactory informers, IOptions<ClustersOptions> options, TimeProvider time, ILogger<ClusterManager> logger,
        LeaseElector? elector = null)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options.Value;
        _logger = logger;
        var selector = $"{SidecarsLabels.ManagedBy}={SidecarsLabels.ManagedByValue},{SidecarsLabels.Cluster}";
        _deployments = informers.Deployments(_options.Namespace, selector);
        _pods = informers.Pods(_options.Namespace, selector);
        _queue = new WorkQueue<string>("clusters", time);
        Machine = new ClusterStateMachine(_options.Namespace, time);
        Machine.DeleteRequested += _queue.Add;
        _elector = elector;
        if (elector is not null)
        {
            // Deadlines that passed while another replica led (or none did) are enforced by the new leader.
            elector.StartedLeading += QueueAll;
        }
    }

    private bool Leads => _elector?.IsLeader ?? true;

    public ClusterStateMachine Machine { get; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscriptions.Add(_pods.Subscribe(OnEvent, replay: true));
        _subscriptions.Add(_deployments.Subscribe(OnEvent, replay: true));
        _pods.Start();
        _deployments.Start();
        _reconciling = ReconcileLoop.RunAsync(_queue, Workers, ReconcileAsync, _logger, _stop.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Unsubscribe();
        await _stop.CancelAsync();
        await _reconciling.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_elector is not null)
        {
            _elector.StartedLeading -= QueueAll;
        }

        Unsubscribe();
        _stop.Cancel();
        _queue.Dispose();
        _stop.Dispose();
    }

    /// <summary>Waits until both informers hold their first list, so answers reflect what exists (also after a restart).</summary>
    public async Task WaitForSyncAsync(CancellationToken cancellationToken)
    {
        await _pods.WaitForSyncAsync(cancellationToken);
        await _deployments.WaitForSyncAsync(cancellationToken);
    }

    public async Task<ClusterResult> CreateAsync(CreateClusterRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ClusterDeploymentBuilder.Validate(request, _options.MaxReplicas) is { } invalid)
        {
            return new ClusterResult(ClusterResultCode.InvalidArgument, null, invalid);
        }

        await WaitForSyncAsync(cancellationToken);
        var timeout = request.TimeoutSeconds > 0 ? TimeSpan.FromSeconds(request.TimeoutSeconds) : _options.CreateTimeout;
        var deleteOnTimeout = request.OnTimeout switch
        {
            TimeoutAction.Delete => true,
            TimeoutAction.Leave => false,
            _ => _options.DeleteOnTimeout,
        };
        var started = Stopwatch.GetTimestamp();
        var decision = Machine.BeginCreate(request.Name, request.Replicas, timeout, deleteOnTimeout);
        switch (decision.Action)
        {
            case CreateAction.Conflict:
                return new ClusterResult(ClusterResultCode.FailedPrecondition, decision.Status, $"cluster {request.Name} is being deleted; create it again once the delete is done");
            case CreateAction.CreateDeployment:
                if (await CreateDeploymentAsync(request, decision.Deadline ?? CreateDeadline.After(DateTimeOffset.UtcNow, timeout, deleteOnTimeout), cancellationToken) is { } failure)
                {
                    return failure;
                }

                break;
        }

        if (request.NoWait)
        {
            return new ClusterResult(ClusterResultCode.Ok, Machine.Get(request.Name) ?? decision.Status, string.Empty);
        }

        var outcome = await Machine.WaitAsync(decision.Outcome!, Timeout.InfiniteTimeSpan, cancellationToken);
        ClusterMetrics.Operations.WithLabels("create", outcome.Code.ToString()).Inc();
        ClusterMetrics.WaitSeconds.WithLabels("create").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return ClusterResult.From(outcome, "create");
    }

    public async Task<ClusterResult> DeleteAsync(string name, bool noWait, CancellationToken cancellationToken)
    {
        await WaitForSyncAsync(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        var decision = Machine.BeginDelete(name);
        if (decision.Action == DeleteAction.NotFound)
        {
            return new ClusterResult(ClusterResultCode.NotFound, null, $"cluster {name} does not exist in namespace {_options.Namespace}");
        }

        if (decision.Action == DeleteAction.DeleteDeployment && !await DeleteDeploymentAsync(name, cancellationToken))
        {
            return new ClusterResult(ClusterResultCode.Unavailable, decision.Status, $"Kubernetes refused to delete cluster {name}; see the agent's log");
        }

        if (noWait)
        {
            return new ClusterResult(ClusterResultCode.Ok, Machine.Get(name) ?? decision.Status, string.Empty);
        }

        try
        {
            var outcome = await Machine.WaitAsync(decision.Outcome!, _options.DeleteTimeout, cancellationToken);
            ClusterMetrics.Operations.WithLabels("delete", outcome.Code.ToString()).Inc();
            ClusterMetrics.WaitSeconds.WithLabels("delete").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            return ClusterResult.From(outcome, "delete");
        }
        catch (TimeoutException)
        {
            ClusterMetrics.Operations.WithLabels("delete", nameof(OutcomeCode.DeadlineExceeded)).Inc();
            var status = Machine.Get(name);
            return new ClusterResult(ClusterResultCode.DeadlineExceeded, status,
                $"cluster {name} not gone after {_options.DeleteTimeout.TotalSeconds}s: {status?.Message}");
        }
    }

    private async Task<ClusterResult?> CreateDeploymentAsync(CreateClusterRequest request, CreateDeadline deadline, CancellationToken cancellationToken)
    {
        var deployment = ClusterDeploymentBuilder.Build(request, _options.Namespace, deadline);
        try
        {
            // Not tied to the caller: once started, the create belongs to every waiter.
            await _client.AppsV1.CreateNamespacedDeploymentAsync(deployment, _options.Namespace, cancellationToken: CancellationToken.None);
            Log.Created(_logger, _options.Namespace, request.Name, request.Replicas);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            Log.AlreadyExists(_logger, _options.Namespace, request.Name);
        }
        catch (HttpOperationException e)
        {
            var message = $"Kubernetes rejected the Deployment ({(int)e.Response.StatusCode}): {Truncate(e.Response.Content)}";
            Machine.CreateFailed(request.Name, "CreateRejected", message);
            Log.CreateFailed(_logger, _options.Namespace, request.Name, message);
            return new ClusterResult(
                (int)e.Response.StatusCode is 400 or 422 ? ClusterResultCode.InvalidArgument : ClusterResultCode.Unavailable, null, message);
        }
        catch (HttpRequestException e)
        {
            Machine.CreateFailed(request.Name, "KubernetesUnavailable", e.Message);
            return new ClusterResult(ClusterResultCode.Unavailable, null, $"Kubernetes is unreachable: {e.Message}");
        }

        if (Machine.Get(request.Name) is null or { Phase: ClusterPhase.DeleteInProgress })
        {
            // A delete overtook the create call; make sure nothing is left behind.
            await DeleteDeploymentAsync(request.Name, CancellationToken.None);
        }

        return null;
    }

    private async Task<bool> DeleteDeploymentAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await _client.AppsV1.DeleteNamespacedDeploymentAsync(
                name, _options.Namespace, new V1DeleteOptions { PropagationPolicy = "Foreground" }, cancellationToken: cancellationToken);
            Log.Deleting(_logger, _options.Namespace, name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            _queue.Add(name);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            Log.DeleteFailed(_logger, _options.Namespace, name, e);
            return false;
        }

        return true;
    }

    private void OnEvent<T>(ResourceEvent<T> evt)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (ClusterName(evt.Item.Metadata) is { } name)
        {
            _queue.Add(name);
        }
    }

    /// <summary>
    /// Feeds the machine the informers' current view of the cluster (one reconcile per cluster at a time, so a stale
    /// view never overtakes a newer one). The leader then deletes the Deployment if its create deadline passed with
    /// delete-on-timeout.
    /// </summary>
    private async Task<Reconciled> ReconcileAsync(string name, CancellationToken ct)
    {
        _deployments.TryGet(_options.Namespace, name, out var deployment);
        Machine.Observe(name, deployment, _pods.Snapshot().Count(p => ClusterName(p.Metadata) == name));
        if (deployment is null || deployment.Metadata.DeletionTimestamp is not null || !Leads)
        {
            return Reconciled.Done;
        }

        if (Machine.IsDeleteDue(name))
        {
            return await DeleteDeploymentAsync(name, ct) ? Reconciled.Done : Reconciled.Retry;
        }

        return Reconciled.Done;
    }

    private void QueueAll()
    {
        foreach (var cluster in Machine.List())
        {
            _queue.Add(cluster.Name);
        }
    }

    private void Unsubscribe()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        _subscriptions.Clear();
    }

    private static string? ClusterName(V1ObjectMeta? metadata) =>
        metadata?.Labels is { } labels && labels.TryGetValue(SidecarsLabels.Cluster, out var name) ? name : null;

    private static string Truncate(string? text) => text is null ? string.Empty : text.Length <= 300 ? text : text[..300];
}
