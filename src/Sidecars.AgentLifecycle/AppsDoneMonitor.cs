using Microsoft.Extensions.Logging;

namespace Sidecars.AgentLifecycle;

/// <summary>
/// Runs an <see cref="AppsDoneWatcher"/> in the background for an agent role and cancels the role's lifetime once
/// the app containers have finished, so the role stops cleanly and exits 0.
/// </summary>
public sealed class AppsDoneMonitor : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly AppsDoneWatcher _watcher;
    private readonly Task _run;

    private AppsDoneMonitor(AppsDoneWatcher watcher, CancellationTokenSource roleLifetime)
    {
        _watcher = watcher;
        _run = RunAsync(roleLifetime);
    }

    /// <summary>True once the apps finished (and the role's lifetime was cancelled because of it).</summary>
    public bool AppsFinished { get; private set; }

    /// <summary>Starts watching; <paramref name="roleLifetime"/> is cancelled when the apps are done.</summary>
    public static AppsDoneMonitor Start(AppsDoneSettings settings, CancellationTokenSource roleLifetime, ILogger logger, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(roleLifetime);
        return new AppsDoneMonitor(new AppsDoneWatcher(settings, logger, handler), roleLifetime);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run;
        _watcher.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationTokenSource roleLifetime)
    {
        await Task.Yield();
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, roleLifetime.Token);
            await _watcher.WaitAsync(linked.Token);
            AppsFinished = true;
            await roleLifetime.CancelAsync();
        }
        catch (OperationCanceledException)
        {
            // The role stopped first.
        }
    }
}
