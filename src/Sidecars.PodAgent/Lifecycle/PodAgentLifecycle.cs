using Microsoft.Extensions.Logging;
using Sidecars.AgentLifecycle;

namespace Sidecars.PodAgent.Lifecycle;

/// <summary>The pod-agent's use of <see cref="AppsDoneMonitor"/> for <c>--exit-when-apps-done</c>.</summary>
internal static class PodAgentLifecycle
{
    /// <summary>Resolves the watch settings when the option is on; a missing setting is a start-up error with its reason.</summary>
    public static bool TryResolve(PodAgentOptions options, Func<string, string?> environment, out AppsDoneSettings? settings, out string? problem)
    {
        settings = null;
        problem = null;
        if (!options.ExitWhenAppsDone || options.WaitReady)
        {
            return true;
        }

        try
        {
            settings = AppsDoneSettings.FromEnvironment(environment, options.PodName);
            return true;
        }
        catch (FormatException e)
        {
            problem = e.Message;
            return false;
        }
    }

    /// <summary>Starts watching when <paramref name="settings"/> is set; null (nothing to dispose) otherwise.</summary>
    public static AppsDoneMonitor? Start(AppsDoneSettings? settings, CancellationTokenSource lifetime, ILogger logger) =>
        settings is null ? null : AppsDoneMonitor.Start(settings, lifetime, logger);
}
