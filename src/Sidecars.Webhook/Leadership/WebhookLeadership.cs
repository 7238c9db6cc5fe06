using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Sidecars.Webhook.Leadership;

/// <summary>One Lease-based election per webhook deployment; the leader rotates certificates and runs the repair loop.</summary>
public sealed class WebhookLeadership(IKubernetes client, IOptions<WebhookOptions> options) : BackgroundService
{
    public const string LeaseName = "sidecars-webhook-leader";
    private LeaderElector? _elector;

    public bool IsLeader => _elector?.IsLeader() ?? false;

    /// <summary>Raised when this replica becomes leader.</summary>
    public event Action? StartedLeading;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var identity = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var leaseLock = new LeaseLock(client, options.Value.Namespace, LeaseName, identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = TimeSpan.FromSeconds(15),
            RenewDeadline = TimeSpan.FromSeconds(10),
            RetryPeriod = TimeSpan.FromSeconds(2),
        });
        elector.OnStartedLeading += () => StartedLeading?.Invoke();
        _elector = elector;
        try
        {
            await elector.RunAndTryToHoldLeadershipForeverAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
