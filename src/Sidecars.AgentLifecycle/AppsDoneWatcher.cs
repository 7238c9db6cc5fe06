using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Sidecars.AgentLifecycle;

/// <summary>
/// Waits until the app containers of the agent's own pod have finished: reads the pod, then watches it from that
/// resourceVersion, reading it again when the version has expired (410) and retrying failures with backoff.
/// Needs get and watch on pods in the pod's namespace for its service account.
/// </summary>
public sealed partial class AppsDoneWatcher : IDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly AppsDoneSettings _settings;
    private readonly PodApiClient _api;
    private readonly ILogger _logger;
    private string? _lastDetail;

    public AppsDoneWatcher(AppsDoneSettings settings, ILogger logger, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _logger = logger;
        _api = new PodApiClient(settings, handler);
    }

    /// <summary>Completes once every app container has terminated for good; throws when cancelled.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(250);
        LogWatching(_settings.Namespace, _settings.PodName, _settings.ApiServer);
        while (true)
        {
            try
            {
                if (await WatchOnceAsync(cancellationToken))
                {
                    return;
                }

                backoff = TimeSpan.FromMilliseconds(250);
                continue;
            }
            catch (PodApiException e) when (e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                LogForbidden(_settings.Namespace, _settings.PodName, e.Message);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested
                && e is PodApiException or HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                LogRetrying(_settings.Namespace, _settings.PodName, e.Message, backoff);
            }

            await Task.Delay(backoff, cancellationToken);
            backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
        }
    }

    public void Dispose() => _api.Dispose();

    /// <summary>One read and the watch that follows it; true when the apps are done, false to start over.</summary>
    private async Task<bool> WatchOnceAsync(CancellationToken cancellationToken)
    {
        var pod = await _api.GetAsync(cancellationToken);
        if (Check(pod))
        {
            return true;
        }

        var version = pod.Metadata?.ResourceVersion ?? "0";
        while (true)
        {
            var events = 0;
            await foreach (var (type, changed, error) in _api.WatchAsync(version, cancellationToken))
            {
                events++;
                if (error is not null)
                {
                    // 410: the version was compacted away; anything else: start over from a fresh read too.
                    LogWatchError(_settings.Namespace, _settings.PodName, error.Code, error.Message ?? "");
                    return false;
                }

                if (changed?.Metadata?.ResourceVersion is { } next)
                {
                    version = next;
                }

                if (type is "ADDED" or "MODIFIED" && changed is not null && Check(changed))
                {
                    return true;
                }
            }

            if (events == 0)
            {
                // A watch normally lasts its timeout; one that closes at once must not become a busy loop.
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    private bool Check(PodModel pod)
    {
        var done = AppsDone.Evaluate(pod, _settings.Sidecars, out var detail);
        if (detail != _lastDetail)
        {
            _lastDetail = detail;
            LogState(_settings.Namespace, _settings.PodName, detail);
        }

        return done;
    }

    [LoggerMessage(1, LogLevel.Information, "Exiting when the app containers of pod {Namespace}/{Name} finish (watching through {ApiServer})")]
    private partial void LogWatching(string @namespace, string name, Uri apiServer);

    [LoggerMessage(2, LogLevel.Information, "Pod {Namespace}/{Name}: {Detail}")]
    private partial void LogState(string @namespace, string name, string detail);

    [LoggerMessage(3, LogLevel.Error,
        "Cannot read pod {Namespace}/{Name} ({Problem}): its service account needs get and watch on pods (a Role and RoleBinding); retrying")]
    private partial void LogForbidden(string @namespace, string name, string problem);

    [LoggerMessage(4, LogLevel.Warning, "Watching pod {Namespace}/{Name} failed ({Problem}); retrying in {Backoff}")]
    private partial void LogRetrying(string @namespace, string name, string problem, TimeSpan backoff);

    [LoggerMessage(5, LogLevel.Debug, "Watch of pod {Namespace}/{Name} ended with status {Code}: {Message}; reading it again")]
    private partial void LogWatchError(string @namespace, string name, int code, string message);
}
