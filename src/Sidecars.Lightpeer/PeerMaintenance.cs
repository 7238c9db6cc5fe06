using Microsoft.Extensions.Hosting;

namespace Sidecars.Lightpeer;

/// <summary>Runs the periodic peer checks of the node until the host stops.</summary>
internal sealed class PeerMaintenance(LightpeerNode node, LightpeerOptions options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.CheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await node.CheckPeersAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host is stopping.
        }
    }
}
