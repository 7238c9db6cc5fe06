using Microsoft.Extensions.Logging;
using Sidecars.AgentLifecycle;
using Sidecars.Observability;

namespace Sidecars.Lightpeer;

/// <summary>Entry point of the agent's <c>lightpeer</c> role.</summary>
public static class LightpeerCommand
{
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        LightpeerOptions options;
        try
        {
            options = LightpeerOptions.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"lightpeer: {e.Message}\n{LightpeerOptions.Usage}");
            return 2;
        }

        AppsDoneSettings? appsDone = null;
        try
        {
            appsDone = options.ExitWhenAppsDone ? AppsDoneSettings.FromEnvironment(Environment.GetEnvironmentVariable) : null;
        }
        catch (FormatException e)
        {
            // Not fatal: exiting early would fail the Job's pod although its apps may succeed.
            await Console.Error.WriteLineAsync($"lightpeer: {e.Message}; running until stopped");
        }

        try
        {
            await using var server = await LightpeerServer.StartAsync(options, cancellationToken);
            await Console.Out.WriteLineAsync($"lightpeer listening on {server.Address} (health on port {options.HealthPort})");
            // Serving: what starting up left resident (the host's garbage, its code) is not needed again.
            var unmapped = ProcessMemory.ReturnAll();
            await Console.Out.WriteLineAsync(
                $"lightpeer: start-up memory returned: {unmapped / (1024 * 1024)} MiB of code pages unmapped; a fault maps back {FilePages.Faults}");
            using var releases = IdleMemory.ReleaseAfterBursts(TimeProvider.System, IdleMemory.BurstPeriod);
            using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await using (appsDone is null ? null : AppsDoneMonitor.Start(appsDone, lifetime, server.Loggers.CreateLogger("Sidecars.Lightpeer")))
            {
                await server.WaitForShutdownAsync(lifetime.Token);
            }

            return 0;
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"lightpeer: cannot listen on {options.SelfAddress}: {e.Message}");
            return 1;
        }
    }
}
