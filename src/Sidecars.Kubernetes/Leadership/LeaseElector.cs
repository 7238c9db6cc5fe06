using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sidecars.Conventions;

namespace Sidecars.Kubernetes.Leadership;

/// <summary>
/// Holds or waits for one <c>coordination.k8s.io/v1</c> Lease with get, create and replace only: every write carries
/// the resourceVersion it read, so of two candidates acting on the same Lease one gets 409 and waits. The leader
/// renews every <see cref="LeaderElectionOptions.RetryPeriod"/>, steps down when it could not renew for
/// <see cref="LeaderElectionOptions.RenewDeadline"/>, and releases the Lease when it stops.
/// </summary>
public sealed partial class LeaseElector : BackgroundService
{
    private readonly KubernetesConnection _client;
    private readonly LeaderElectionOptions _options;
    private readonly string _namespace;
    private readonly TimeProvider _time;
    private readonly ILogger<LeaseElector> _logger;
    private readonly Lock _lock = new();
    private TaskCompletionSource<CancellationToken> _term = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _termSource;
    private string? _observedVersion;
    private DateTimeOffset _observedChangeAt;
    private DateTimeOffset _lastRenewed;
    private string? _holder;

    public LeaseElector(KubernetesConnection client, string component, string leaseName, LeaderElectionOptions options, TimeProvider time, ILogger<LeaseElector> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options;
        _time = time;
        _logger = logger;
        Component = component;
        LeaseName = leaseName;
        Identity = options.ResolveIdentity();
        _namespace = options.ResolveNamespace();
        LeadershipMetrics.Track(this);
    }

    /// <summary>What is elected (the <c>component</c> label of <c>sidecars_leader</c>).</summary>
    public string Component { get; }

    public string LeaseName { get; }

    /// <summary>This replica's name in the Lease.</summary>
    public string Identity { get; }

    public bool IsLeader
    {
        get
        {
            lock (_lock)
            {
                return _termSource is not null;
            }
        }
    }

    /// <summary>The holder last read from the Lease (this replica when it leads); null before the first read or when free.</summary>
    public string? Leader
    {
        get
        {
            lock (_lock)
            {
                return _holder;
            }
        }
    }

    /// <summary>Raised when this replica becomes leader.</summary>
    public event Action? StartedLeading;

    /// <summary>Raised when this replica stops leading (lost the Lease, could not renew it, or is stopping).</summary>
    public event Action? StoppedLeading;

    /// <summary>Completes when this replica leads, with a token that is cancelled when that term ends.</summary>
    public Task<CancellationToken> WaitForLeadershipAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _term.Task.WaitAsync(cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    // A call that hangs must not keep a leader acting past its renew deadline.
                    attempt.CancelAfter(_options.RenewDeadline);
                    await TryOnceAsync(attempt.Token);
                }

                if (IsLeader && !LeaseDecision.StillLeading(_lastRenewed, _options.RenewDeadline, _time.GetUtcNow()))
                {
                    Log.RenewDeadlinePassed(_logger, Component, _options.RenewDeadline.TotalSeconds);
                    StepDown();
                }

                await Task.Delay(_options.RetryPeriod, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (IsLeader)
            {
                StepDown();
                await ReleaseAsync();
            }
        }
    }

    private async Task TryOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var lease = await ReadAsync(cancellationToken);
            var now = _time.GetUtcNow();
            var record = lease is null ? null : ToRecord(lease);
            if (lease?.Metadata.ResourceVersion != _observedVersion)
            {
                _observedVersion = lease?.Metadata.ResourceVersion;
                _observedChangeAt = now;
            }

            lock (_lock)
            {
                _holder = string.IsNullOrEmpty(record?.Holder) ? null : record.Holder;
            }

            var action = LeaseDecision.Decide(record, _observedChangeAt, Identity, now);
            switch (action)
            {
                case LeaseAction.Create:
                    await _client.CreateAsync(
                        KubernetesWatch.CollectionPath("coordination.k8s.io", "v1", "leases", _namespace), Build(null, now, now, 0), KubernetesJsonMetadata.Lease, cancellationToken);
                    break;
                case LeaseAction.Acquire:
                    await ReplaceAsync(Build(lease!.Metadata.ResourceVersion, now, now, record!.Transitions + 1), cancellationToken);
                    break;
                case LeaseAction.Renew:
                    await ReplaceAsync(Build(lease!.Metadata.ResourceVersion, lease.Spec.AcquireTime ?? now.UtcDateTime, now, record!.Transitions), cancellationToken);
                    break;
                default:
                    if (IsLeader)
                    {
                        Log.LostLease(_logger, Component, record?.Holder ?? string.Empty);
                        StepDown();
                    }

                    return;
            }

            _lastRenewed = now;
            lock (_lock)
            {
                _holder = Identity;
            }

            if (!IsLeader)
            {
                BecomeLeader(action);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Another candidate wrote first; the next read shows who.
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or OperationCanceledException)
        {
            Log.LeaseCallFailed(_logger, Component, LeaseName, e.Message);
        }
    }

    private async Task<V1Lease?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetAsync(LeasePath, KubernetesJsonMetadata.Lease, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>A Lease written whole from what this replica decided (never the object read back, so no managedFields).</summary>
    private V1Lease Build(string? resourceVersion, DateTimeOffset acquired, DateTimeOffset renewed, int transitions, string? holder = null, int? durationSeconds = null) => new()
    {
        ApiVersion = "coordination.k8s.io/v1",
        Kind = "Lease",
        Metadata = new V1ObjectMeta
        {
            Name = LeaseName,
            NamespaceProperty = _namespace,
            ResourceVersion = resourceVersion,
            Labels = new Dictionary<string, string> { [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue },
        },
        Spec = new V1LeaseSpec
        {
            HolderIdentity = holder ?? Identity,
            LeaseDurationSeconds = durationSeconds ?? (int)Math.Ceiling(_options.LeaseDuration.TotalSeconds),
            AcquireTime = acquired.UtcDateTime,
            RenewTime = renewed.UtcDateTime,
            LeaseTransitions = transitions,
        },
    };

    private Task ReplaceAsync(V1Lease lease, CancellationToken cancellationToken) =>
        _client.ReplaceAsync(LeasePath, lease, KubernetesJsonMetadata.Lease, cancellationToken);

    private string LeasePath => KubernetesRequests.ObjectPath("coordination.k8s.io", "v1", "leases", _namespace, LeaseName);

    /// <summary>Hands the Lease back (empty holder) so another replica takes over at its next attempt instead of after expiry.</summary>
    private async Task ReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(_options.RetryPeriod);
        try
        {
            var lease = await ReadAsync(timeout.Token);
            if (lease is null || lease.Spec.HolderIdentity != Identity)
            {
                return;
            }

            var now = _time.GetUtcNow();
            await ReplaceAsync(Build(lease.Metadata.ResourceVersion, now, now, lease.Spec.LeaseTransitions ?? 0, holder: string.Empty, durationSeconds: 1), timeout.Token);
            Log.Released(_logger, Component, LeaseName);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or OperationCanceledException)
        {
            Log.LeaseCallFailed(_logger, Component, LeaseName, e.Message);
        }
    }

    private void BecomeLeader(LeaseAction action)
    {
        TaskCompletionSource<CancellationToken> term;
        lock (_lock)
        {
            _termSource = new CancellationTokenSource();
            term = _term;
        }

        Log.Leading(_logger, Component, Identity, action.ToString());
        term.TrySetResult(_termSource.Token);
        StartedLeading?.Invoke();
    }

    private void StepDown()
    {
        CancellationTokenSource? ended;
        lock (_lock)
        {
            ended = _termSource;
            _termSource = null;
            if (ended is null)
            {
                return;
            }

            _term = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_holder == Identity)
            {
                _holder = null;
            }
        }

        Log.SteppedDown(_logger, Component, Identity);
        ended.Cancel();
        ended.Dispose();
        StoppedLeading?.Invoke();
    }

    public override void Dispose()
    {
        LeadershipMetrics.Untrack(this);
        base.Dispose();
    }

    private static LeaseRecord ToRecord(V1Lease lease) =>
        new(lease.Spec?.HolderIdentity, TimeSpan.FromSeconds(lease.Spec?.LeaseDurationSeconds ?? 0), lease.Spec?.LeaseTransitions ?? 0);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Leading {Component} as {Identity} ({Action})")]
        public static partial void Leading(ILogger logger, string component, string identity, string action);

        [LoggerMessage(2, LogLevel.Warning, "Stopped leading {Component} as {Identity}")]
        public static partial void SteppedDown(ILogger logger, string component, string identity);

        [LoggerMessage(3, LogLevel.Warning, "Lease of {Component} is held by {Holder}; stepping down")]
        public static partial void LostLease(ILogger logger, string component, string holder);

        [LoggerMessage(4, LogLevel.Warning, "Lease of {Component} not renewed for {Seconds}s; stepping down")]
        public static partial void RenewDeadlinePassed(ILogger logger, string component, double seconds);

        [LoggerMessage(5, LogLevel.Warning, "Lease {Lease} call for {Component} failed: {Reason}")]
        public static partial void LeaseCallFailed(ILogger logger, string component, string lease, string reason);

        [LoggerMessage(6, LogLevel.Information, "Released Lease {Lease} of {Component}")]
        public static partial void Released(ILogger logger, string component, string lease);
    }
}
