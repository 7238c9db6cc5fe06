using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Sidecars.AgentLifecycle;
using Sidecars.Testing.PodApi;

namespace Sidecars.AgentLifecycle.Tests;

/// <summary>The watcher against a fake apiserver on 127.0.0.1: get, watch, 410 and 403 handling.</summary>
public sealed class AppsDoneWatcherTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _account = Directory.CreateTempSubdirectory("sidecars-sa-");
    private FakeApiServer _api = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_account.FullName, "token"), "sa-token-1\n");
        _api = await FakeApiServer.StartAsync(Pods.Job("10", "Never", ("work", null)));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _account.Delete(recursive: true);
    }

    private AppsDoneSettings Settings() => AppsDoneSettings.FromEnvironment(name => name switch
    {
        "SIDECARS_API_SERVER" => _api.Address.ToString(),
        "SIDECARS_SERVICE_ACCOUNT_DIR" => _account.FullName,
        "POD_NAME" => "job-abc",
        "POD_NAMESPACE" => "team",
        _ => null,
    });

    [Fact]
    public async Task Completes_when_a_watch_event_shows_the_apps_terminated()
    {
        using var watcher = new AppsDoneWatcher(Settings(), NullLogger.Instance);
        var waiting = watcher.WaitAsync(CancellationToken.None);
        await Eventually(() => _api.Requests.Any(r => r.Contains("watch=true", StringComparison.Ordinal)), "a watch is open");
        Assert.False(waiting.IsCompleted);

        _api.Send("MODIFIED", Pods.Job("11", "Never", ("work", 0)));

        await waiting.WaitAsync(Bound);
        var watch = _api.Requests.Single(r => r.Contains("watch=true", StringComparison.Ordinal));
        Assert.StartsWith("/api/v1/namespaces/team/pods?", watch, StringComparison.Ordinal);
        Assert.Contains("resourceVersion=10", watch, StringComparison.Ordinal);
        Assert.Contains("fieldSelector=metadata.name%3Djob-abc", watch, StringComparison.Ordinal);
        Assert.All(_api.Authorizations, a => Assert.Equal("Bearer sa-token-1", a));
    }

    [Fact]
    public async Task Completes_at_once_when_the_apps_already_finished()
    {
        _api.SetPod(Pods.Job("10", "Never", ("work", 1)));
        using var watcher = new AppsDoneWatcher(Settings(), NullLogger.Instance);

        await watcher.WaitAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(1, _api.Gets);
    }

    [Fact]
    public async Task Reads_the_pod_again_after_410_gone()
    {
        using var watcher = new AppsDoneWatcher(Settings(), NullLogger.Instance);
        var waiting = watcher.WaitAsync(CancellationToken.None);
        await Eventually(() => _api.Requests.Any(r => r.Contains("watch=true", StringComparison.Ordinal)), "a watch is open");

        _api.SetPod(Pods.Job("20", "Never", ("work", 0)));
        _api.SendGone();

        await waiting.WaitAsync(Bound);
        Assert.Equal(2, _api.Gets);
    }

    [Fact]
    public async Task Keeps_retrying_while_forbidden_and_reads_a_rotated_token()
    {
        _api.Refuse = HttpStatusCode.Forbidden;
        using var watcher = new AppsDoneWatcher(Settings(), NullLogger.Instance);
        var waiting = watcher.WaitAsync(CancellationToken.None);
        await Eventually(() => _api.Gets >= 2, "a retry after 403");
        Assert.False(waiting.IsCompleted);

        await File.WriteAllTextAsync(Path.Combine(_account.FullName, "token"), "sa-token-2");
        _api.SetPod(Pods.Job("30", "Never", ("work", 0)));
        _api.Refuse = null;

        await waiting.WaitAsync(Bound);
        Assert.Equal("Bearer sa-token-2", _api.Authorizations.Last());
    }

    [Fact]
    public async Task Cancelling_stops_the_wait()
    {
        using var watcher = new AppsDoneWatcher(Settings(), NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var waiting = watcher.WaitAsync(stop.Token);
        await Eventually(() => _api.Requests.Any(r => r.Contains("watch=true", StringComparison.Ordinal)), "a watch is open");

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
    }

    [Fact]
    public void Settings_name_what_is_missing()
    {
        var noToken = Assert.Throws<FormatException>(() => AppsDoneSettings.FromEnvironment(name => name == "SIDECARS_SERVICE_ACCOUNT_DIR" ? "/nonexistent" : null));
        Assert.Contains("service account token", noToken.Message, StringComparison.Ordinal);

        var noServer = Assert.Throws<FormatException>(() => AppsDoneSettings.FromEnvironment(name => name switch
        {
            "SIDECARS_SERVICE_ACCOUNT_DIR" => _account.FullName,
            "POD_NAME" => "p",
            "POD_NAMESPACE" => "n",
            _ => null,
        }));
        Assert.Contains("KUBERNETES_SERVICE_HOST", noServer.Message, StringComparison.Ordinal);

        var inCluster = AppsDoneSettings.FromEnvironment(name => name switch
        {
            "SIDECARS_SERVICE_ACCOUNT_DIR" => _account.FullName,
            "POD_NAME" => "p",
            "POD_NAMESPACE" => "n",
            "KUBERNETES_SERVICE_HOST" => "10.0.0.1",
            "KUBERNETES_SERVICE_PORT" => "443",
            _ => null,
        });
        Assert.Equal(new Uri("https://10.0.0.1:443"), inCluster.ApiServer);
        Assert.Contains("sidecars-lightpeer", inCluster.Sidecars);

        Assert.Throws<FormatException>(() => AppsDoneSettings.FromEnvironment(name => name switch
        {
            "SIDECARS_SERVICE_ACCOUNT_DIR" => _account.FullName,
            "POD_NAME" => "p",
            "POD_NAMESPACE" => "n",
            "SIDECARS_API_SERVER" => "http://apiserver.example:80",
            _ => null,
        }));
    }

    internal static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }
}
