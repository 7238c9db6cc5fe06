using System.Globalization;
using System.Threading.Channels;
using k8s.Models;

namespace Sidecars.Clusters;

/// <summary>What the caller of <see cref="ClusterStateMachine.BeginCreate"/> must do next.</summary>
public enum CreateAction
{
    /// <summary>New cluster: create the Deployment, then wait on the outcome.</summary>
    CreateDeployment,

    /// <summary>A create is in progress (or the Deployment exists but is not available): wait on the same outcome.</summary>
    Wait,

    /// <summary>The outcome is already known (available, or failed): answer at once.</summary>
    Done,

    /// <summary>The cluster is being deleted.</summary>
    Conflict,
}

public enum DeleteAction
{
    /// <summary>Delete the Deployment, then wait.</summary>
    DeleteDeployment,

    /// <summary>A delete is in progress: wait on the same outcome.</summary>
    Wait,

    NotFound,
}

/// <param name="Deadline">For <see cref="CreateAction.CreateDeployment"/>: the deadline to store on the Deployment.</param>
public sealed record CreateDecision(CreateAction Action, Task<ClusterOutcome>? Outcome, ClusterStatus Status, CreateDeadline? Deadline = null);

public sealed record DeleteDecision(DeleteAction Action, Task<ClusterOutcome>? Outcome, ClusterStatus? Status);

/// <summary>
/// The single state of every cluster and everyone waiting on it. Kubernetes calls happen elsewhere: this class is
/// told what callers asked (<see cref="BeginCreate"/>, <see cref="BeginDelete"/>) and what the informers observed
/// (<see cref="Observe"/>), and completes waiters accordingly. A create waiter whose cluster is deleted gets
/// <see cref="OutcomeCode.Aborted"/>. A create's deadline is the one stored on the Deployment (every replica's machine
/// reads it and times it alike), or, before the Deployment is seen, the one the create call set.
/// </summary>
public sealed class ClusterStateMachine(string @namespace, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ClusterEntry> _entries = new(StringComparer.Ordinal);
    private int _waiters;
    private int _subscriptions;

    /// <summary>Raised (outside the lock) when a create deadline passed and the cluster must be deleted (see <see cref="IsDeleteDue"/>).</summary>
    public event Action<string>? DeleteRequested;

    /// <summary>Callers currently blocked in <see cref="WaitAsync"/>.</summary>
    public int ActiveWaiters => Volatile.Read(ref _waiters);

    /// <summary>Open <see cref="Subscribe"/> streams.</summary>
    public int ActiveSubscriptions => Volatile.Read(ref _subscriptions);

    /// <summary>Creates and deletes in progress (each with its own completion).</summary>
    public int ActiveOperations
    {
        get
        {
            lock (_lock)
            {
                return _entries.Values.Count(e => e.CreateOperation is not null) + _entries.Values.Count(e => e.DeleteOperation is not null);
            }
        }
    }

    public ClusterStatus? Get(string name)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(name, out var entry) ? entry.ToStatus() : null;
        }
    }

    public IReadOnlyList<ClusterStatus> List()
    {
        lock (_lock)
        {
            return [.. _entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => e.ToStatus())];
        }
    }

    /// <summary>Whether the cluster's create deadline passed with delete-on-timeout and Kubernetes is not deleting it yet.</summary>
    public bool IsDeleteDue(string name)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(name, out var entry) && entry.DeleteDue;
        }
    }

    public CreateDecision BeginCreate(string name, int replicas, TimeSpan timeout, bool deleteOnTimeout)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(name, out var entry))
            {
                entry = new ClusterEntry(name, @namespace, ClusterPhase.CreateInProgress)
                {
                    Replicas = replicas,
                    Reason = "Creating",
                    Message = "creating the Deployment",
                };
                _entries.Add(name, entry);
                var deadline = CreateDeadline.After(time.GetUtcNow(), timeout, deleteOnTimeout);
                var operation = StartCreate(entry, deadline);
                Publish(entry);
                return new CreateDecision(CreateAction.CreateDeployment, operation.Outcome.Task, entry.ToStatus(), deadline);
            }

            var status = entry.ToStatus();
            return entry.Phase switch
            {
                ClusterPhase.Available => new CreateDecision(CreateAction.Done, Task.FromResult(new ClusterOutcome(OutcomeCode.Ok, status)), status),
                ClusterPhase.Failed => new CreateDecision(CreateAction.Done, Task.FromResult(new ClusterOutcome(OutcomeCode.Failed, status)), status),
                ClusterPhase.DeleteInProgress => new CreateDecision(CreateAction.Conflict, null, status),
                _ => Join(entry, CreateDeadline.After(time.GetUtcNow(), timeout, deleteOnTimeout)),
            };
        }
    }

    /// <summary>The Kubernetes create call failed: fail the waiters and forget a cluster that never existed.</summary>
    public void CreateFailed(string name, string reason, string message)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(name, out var entry))
            {
                return;
            }

            entry.Reason = reason;
            entry.Message = message;
            if (!entry.Seen)
            {
                entry.Phase = ClusterPhase.Failed;
                entry.CreateOperation?.Complete(OutcomeCode.Failed, entry.ToStatus());
                entry.CreateOperation = null;
                Remove(entry);
            }
        }
    }

    public DeleteDecision BeginDelete(string name)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(name, out var entry))
            {
                return new DeleteDecision(DeleteAction.NotFound, null, null);
            }

            if (entry.Phase == ClusterPhase.DeleteInProgress && entry.DeleteOperation is not null)
            {
                return new DeleteDecision(DeleteAction.Wait, entry.DeleteOperation.Task, entry.ToStatus());
            }

            var operation = StartDelete(entry, "Deleting", "deleting the Deployment and its pods");
            Publish(entry);
            return new DeleteDecision(DeleteAction.DeleteDeployment, operation.Task, entry.ToStatus());
        }
    }

    /// <summary>Feeds what Kubernetes reports: the cluster's Deployment (null when absent) and how many of its pods exist.</summary>
    public void Observe(string name, V1Deployment? deployment, int pods)
    {
        var observation = ClusterReconciler.Observe(deployment);
        lock (_lock)
        {
            if (!_entries.TryGetValue(name, out var entry))
            {
                if (deployment is null)
                {
                    return;
                }

                entry = new ClusterEntry(name, @namespace, observation.Phase switch
                {
                    ObservedPhase.Available => ClusterPhase.Available,
                    ObservedPhase.Failed => ClusterPhase.Failed,
                    ObservedPhase.Deleting => ClusterPhase.DeleteInProgress,
                    _ => ClusterPhase.CreateInProgress,
                });
                _entries.Add(name, entry);
            }

            entry.Pods = pods;
            if (deployment is not null)
            {
                if (!entry.WasAvailable && !RolledOut(deployment) && CreateDeadline.From(deployment.Metadata?.Annotations) is { } stored && stored != entry.Deadline)
                {
                    Arm(entry, stored);
                }

                entry.Seen = true;
                entry.Replicas = observation.Replicas;
                entry.ReadyReplicas = observation.ReadyReplicas;
                entry.AvailableReplicas = observation.AvailableReplicas;
            }

            Apply(entry, observation);
        }
    }

    /// <summary>Waits on an outcome, counted in <see cref="ActiveWaiters"/>; ends on the outcome, the timeout or cancellation.</summary>
    public async Task<ClusterOutcome> WaitAsync(Task<ClusterOutcome> outcome, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        Interlocked.Increment(ref _waiters);
        try
        {
            return await outcome.WaitAsync(timeout, time, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    /// <summary>Streams the cluster's status, current first; completes when the cluster is gone. Null for an unknown cluster.</summary>
    public ClusterSubscription? Subscribe(string name)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(name, out var entry))
            {
                return null;
            }

            var channel = Channel.CreateBounded<ClusterStatus>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });
            channel.Writer.TryWrite(entry.ToStatus());
            entry.Subscribers.Add(channel);
            Interlocked.Increment(ref _subscriptions);
            return new ClusterSubscription(channel.Reader, () =>
            {
                lock (_lock)
                {
                    entry.Subscribers.Remove(channel);
                }

                channel.Writer.TryComplete();
                Interlocked.Decrement(ref _subscriptions);
            });
        }
    }

    private void Apply(ClusterEntry entry, Observation observation)
    {
        switch (observation.Phase)
        {
            case ObservedPhase.Absent:
                if (!entry.Seen && entry.Phase == ClusterPhase.CreateInProgress)
                {
                    return; // created but not observed yet
                }

                entry.DeleteDue = false;

                if (entry.Phase == ClusterPhase.DeleteInProgress && entry.Pods > 0)
                {
                    entry.Message = $"the Deployment is gone; waiting for {entry.Pods} pods";
                    Publish(entry);
                    return;
                }

                entry.Phase = ClusterPhase.DeleteInProgress;
                entry.Reason = "Deleted";
                entry.Message = "the Deployment and its pods are gone";
                entry.AvailableReplicas = entry.ReadyReplicas = 0;
                AbortCreate(entry, "Deleted", "the cluster was deleted before it became available");
                entry.DeleteOperation?.TrySetResult(new ClusterOutcome(OutcomeCode.Ok, entry.ToStatus()));
                entry.DeleteOperation = null;
                Remove(entry);
                return;

            case ObservedPhase.Deleting:
                entry.DeleteDue = false;
                if (entry.Phase != ClusterPhase.DeleteInProgress || entry.DeleteOperation is null)
                {
                    StartDelete(entry, observation.Reason, observation.Message);
                }

                break;

            case ObservedPhase.Available when entry.Phase != ClusterPhase.DeleteInProgress:
                Settle(entry, observation, ClusterPhase.Available, OutcomeCode.Ok);
                break;

            case ObservedPhase.Failed when entry.Phase != ClusterPhase.DeleteInProgress:
                Settle(entry, observation, ClusterPhase.Failed, OutcomeCode.Failed);
                break;

            case ObservedPhase.Progressing:
                if (entry.Phase == ClusterPhase.Available)
                {
                    entry.Phase = ClusterPhase.CreateInProgress;
                }

                if (entry.Phase == ClusterPhase.CreateInProgress)
                {
                    Describe(entry, observation);
                }

                break;
        }

        Publish(entry);
    }

    private static void Describe(ClusterEntry entry, Observation observation)
    {
        entry.Reason = observation.Reason;
        entry.Message = observation.Message;
    }

    /// <summary>The cluster reached a final phase of its create: record it and answer a waiting create.</summary>
    private static void Settle(ClusterEntry entry, Observation observation, ClusterPhase phase, OutcomeCode outcome)
    {
        if (phase == ClusterPhase.Available)
        {
            entry.WasAvailable = true;
            Disarm(entry);
        }

        entry.Phase = phase;
        Describe(entry, observation);
        entry.CreateOperation?.Complete(outcome, entry.ToStatus());
        entry.CreateOperation = null;
    }

    /// <summary>
    /// A create of a cluster that exists but is not settled waits on the create in progress, or starts one. A Deployment
    /// that carries no deadline (it was Available once, or made elsewhere) gets this call's, kept here and never
    /// deleting: delete-on-timeout removes only what the create made.
    /// </summary>
    private CreateDecision Join(ClusterEntry entry, CreateDeadline deadline)
    {
        var action = entry.Seen || entry.CreateOperation is not null ? CreateAction.Wait : CreateAction.CreateDeployment;
        var operation = entry.CreateOperation ?? StartCreate(entry, entry.Deadline ?? (entry.Seen ? deadline with { DeleteOnTimeout = false } : deadline));
        return new CreateDecision(action, operation.Outcome.Task, entry.ToStatus(), action == CreateAction.CreateDeployment ? entry.Deadline : null);
    }

    private CreateOperation StartCreate(ClusterEntry entry, CreateDeadline deadline)
    {
        var operation = new CreateOperation();
        entry.CreateOperation = operation;
        if (entry.Deadline is null)
        {
            Arm(entry, deadline);
        }

        return operation;
    }

    /// <summary>Times the entry's create deadline (replacing any other); a deadline already passed fires at once.</summary>
    private void Arm(ClusterEntry entry, CreateDeadline deadline)
    {
        Disarm(entry);
        entry.Deadline = deadline;
        var due = deadline.At - time.GetUtcNow();
        entry.DeadlineTimer = time.CreateTimer(_ => OnDeadline(entry, deadline), null, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// The create is over for good once Kubernetes completed a rollout (Progressing: NewReplicaSetAvailable, kept when
    /// pods fail later) or the spec changed since (generation above 1): a stored deadline no longer applies.
    /// </summary>
    private static bool RolledOut(V1Deployment deployment) =>
        deployment.Metadata?.Generation > 1
        || deployment.Status?.Conditions?.Any(c => c.Type == "Progressing" && c.Reason == "NewReplicaSetAvailable") == true;

    private static void Disarm(ClusterEntry entry)
    {
        entry.DeadlineTimer?.Dispose();
        entry.DeadlineTimer = null;
        entry.Deadline = null;
    }

    private static TaskCompletionSource<ClusterOutcome> StartDelete(ClusterEntry entry, string reason, string message)
    {
        AbortCreate(entry, "DeleteRequested", "the cluster is being deleted; the create was abandoned");
        entry.Phase = ClusterPhase.DeleteInProgress;
        entry.Reason = reason;
        entry.Message = message;
        entry.DeleteOperation ??= new TaskCompletionSource<ClusterOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        return entry.DeleteOperation;
    }

    private static void AbortCreate(ClusterEntry entry, string reason, string message)
    {
        if (entry.CreateOperation is { } operation)
        {
            entry.CreateOperation = null;
            operation.Complete(OutcomeCode.Aborted, entry.ToStatus() with { Reason = reason, Message = message });
        }
    }

    /// <summary>
    /// The deadline passed: a cluster still being created is marked Failed (leave) or deleted (the leader's manager
    /// performs it, see <see cref="IsDeleteDue"/>), and its create waiters get <see cref="OutcomeCode.DeadlineExceeded"/>.
    /// </summary>
    private void OnDeadline(ClusterEntry entry, CreateDeadline deadline)
    {
        var delete = false;
        lock (_lock)
        {
            if (!ReferenceEquals(entry.Deadline, deadline) || !_entries.TryGetValue(entry.Name, out var current) || !ReferenceEquals(current, entry))
            {
                return;
            }

            Disarm(entry);
            if (entry.Phase != ClusterPhase.CreateInProgress)
            {
                return;
            }

            var operation = entry.CreateOperation;
            entry.CreateOperation = null;
            var seconds = deadline.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            var message = $"not available after {seconds}s ({entry.AvailableReplicas}/{entry.Replicas} replicas available, " +
                          $"{entry.ReadyReplicas} ready; last: {entry.Message})";
            if (deadline.DeleteOnTimeout)
            {
                delete = true;
                entry.DeleteDue = true;
                StartDelete(entry, "DeadlineExceeded", message + "; deleting");
            }
            else
            {
                entry.Phase = ClusterPhase.Failed;
                entry.Reason = "DeadlineExceeded";
                entry.Message = message + "; left in place";
            }

            operation?.Complete(OutcomeCode.DeadlineExceeded, entry.ToStatus());
            Publish(entry);
        }

        if (delete)
        {
            DeleteRequested?.Invoke(entry.Name);
        }
    }

    private static void Publish(ClusterEntry entry)
    {
        var status = entry.ToStatus();
        foreach (var subscriber in entry.Subscribers)
        {
            subscriber.Writer.TryWrite(status);
        }
    }

    private void Remove(ClusterEntry entry)
    {
        Disarm(entry);
        entry.DeleteDue = false;
        _entries.Remove(entry.Name);
        Publish(entry);
        foreach (var subscriber in entry.Subscribers)
        {
            subscriber.Writer.TryComplete();
        }
    }
}

/// <summary>An open status stream; dispose to unsubscribe.</summary>
public sealed class ClusterSubscription(ChannelReader<ClusterStatus> reader, Action dispose) : IDisposable
{
    private int _disposed;

    public ChannelReader<ClusterStatus> Reader => reader;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            dispose();
        }
    }
}
