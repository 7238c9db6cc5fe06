using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Sidecars.AgentLifecycle;
using Sidecars.PodAgent.Lifecycle;

namespace Sidecars.PodAgent.Tokens;

/// <summary>
/// <c>pod-agent --tokens-only</c>: for pods that ask for token collection but no identity. Serves /healthz, /readyz
/// (ready once listening) and /metrics on the health port and <c>GET /token/{key}</c> on the token port until stopped or, with
/// <c>--exit-when-apps-done</c>, until the app containers have finished.
/// </summary>
internal static class TokensOnlyAgent
{
    public static async Task<int> RunAsync(PodAgentOptions options, AppsDoneSettings? appsDone, TextWriter error, CancellationToken cancellationToken)
    {
        if (options.HealthPort == 0)
        {
            await error.WriteLineAsync("pod-agent: --tokens-only is ready once its health port listens: --health-port must not be 0");
            return PodAgentCommand.ExitUsage;
        }

        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressMeters = true,
            SuppressDebugMetrics = true,
        });

        using var holder = new BlessingHolder(TimeProvider.System);
        await using var app = PodAgentServer.Build(options, holder);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await error.WriteLineAsync($"pod-agent: cannot listen on {options.PodIp} ports {options.HealthPort}, {options.TokenPort}: {e.Message}");
            return 1;
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sidecars.PodAgent");
        // The stop signal reaches the host (SIGTERM from the kubelet) or the caller's token, whichever comes first.
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        await using (PodAgentLifecycle.Start(appsDone, lifetime, logger))
        {
            await Task.Delay(Timeout.Infinite, lifetime.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(grace.Token);
        return PodAgentCommand.ExitOk;
    }
}
