using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Sidecars.Testing.PodApi;

namespace Sidecars.PodAgent.Tests;

/// <summary>The pod-agent command with --exit-when-apps-done against a fake apiserver on 127.0.0.1.</summary>
public sealed class ExitWhenAppsDoneTests : IAsyncLifetime
{
    private readonly DirectoryInfo _account = Directory.CreateTempSubdirectory("sidecars-sa-");
    private FakeApiServer _api = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_account.FullName, "token"), "sa-token");
        _api = await FakeApiServer.StartAsync(Pods.Job("5", "Never", ("work", null)));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _account.Delete(recursive: true);
    }

    [Fact]
    public async Task Tokens_only_agent_exits_zero_once_the_app_container_finished()
    {
        var agent = await RunningAgent.StartAsync(["--tokens-only", "--exit-when-apps-done"], new Dictionary<string, string>
        {
            ["SIDECARS_API_SERVER"] = _api.Address.ToString(),
            ["SIDECARS_SERVICE_ACCOUNT_DIR"] = _account.FullName,
            ["POD_NAME"] = "job-abc",
            ["POD_NAMESPACE"] = "team",
        });
        await using (agent)
        {
            await Eventually.UntilAsync(() => _api.Requests.Any(r => r.Contains("watch=true", StringComparison.Ordinal)), "the agent watches its pod");
            Assert.False(agent.Exited.IsCompleted);

            _api.Send("MODIFIED", Pods.Job("6", "Never", ("work", 0)));

            Assert.Equal(PodAgentCommand.ExitOk, await agent.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
        }
    }

    [Fact]
    public async Task Without_a_service_account_token_the_agent_says_why_and_keeps_running()
    {
        await using var agent = await RunningAgent.StartAsync(["--tokens-only", "--exit-when-apps-done"], new Dictionary<string, string>
        {
            ["SIDECARS_SERVICE_ACCOUNT_DIR"] = Path.Combine(_account.FullName, "missing"),
            ["POD_NAME"] = "job-abc",
            ["POD_NAMESPACE"] = "team",
        });

        Assert.Contains("service account token", agent.Error.ToString(), StringComparison.Ordinal);
        Assert.False(agent.Exited.IsCompleted);
        Assert.Equal("ready", await agent.Http.GetStringAsync("/readyz"));
    }
}
