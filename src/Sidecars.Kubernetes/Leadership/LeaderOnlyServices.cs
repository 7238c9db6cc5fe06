using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sidecars.Kubernetes.Leadership;

/// <summary>
/// Starts the controllers registered with <see cref="LeadershipServiceCollectionExtensions.AddLeaderOnlyHostedService{T}"/>
/// once this replica leads, and only then. A leader that loses its Lease stops them and stops the process (as
/// Kubernetes' own controller managers do): the pod restarts as a candidate with clean state, and no controller
/// keeps acting without the Lease.
/// </summary>
internal sealed partial class LeaderOnlyServices(
    LeaseElector elector,
    IReadOnlyList<IHostedService> controllers,
    IHostApplicationLifetime lifetime,
    ILogger<LeaderOnlyServices> logger) : BackgroundService
{
    private readonly List<IHostedService> _started = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CancellationToken term;
        try
        {
            term = await elector.WaitForLeadershipAsync(stoppingToken);
            foreach (var controller in controllers)
            {
                await controller.StartAsync(stoppingToken);
                lock (_started)
                {
                    _started.Add(controller);
                }
            }

            Log.Started(logger, elector.Component, controllers.Count);
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(term, stoppingToken);
            await Task.Delay(Timeout.Infinite, leading.Token);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            // The term ended while the host runs.
        }

        if (controllers.Count > 0)
        {
            Log.LostLeadership(logger, elector.Component);
            await StopControllersAsync(CancellationToken.None);
            lifetime.StopApplication();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await StopControllersAsync(cancellationToken);
    }

    private async Task StopControllersAsync(CancellationToken cancellationToken)
    {
        List<IHostedService> started;
        lock (_started)
        {
            started = [.. _started];
            _started.Clear();
        }

        started.Reverse();
        foreach (var controller in started)
        {
            await controller.StopAsync(cancellationToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Leading {Component}: started {Count} controllers")]
        public static partial void Started(ILogger logger, string component, int count);

        [LoggerMessage(2, LogLevel.Error, "Lost the lead of {Component}: controllers stopped, stopping the process")]
        public static partial void LostLeadership(ILogger logger, string component);
    }
}
