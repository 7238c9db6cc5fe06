using System.Net;
using System.Text;
using Sidecars.PodAgent.Tokens;

namespace Sidecars.PodAgent.Tests;

/// <summary>GET /token/{key} of a real tokens-only pod-agent on 127.0.0.1 over a token directory the "app" writes.</summary>
public sealed class TokenEndpointTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("sidecars-tokens-");
    private RunningAgent _agent = null!;

    private string TokenDirectory => Path.Combine(_root.FullName, "tokens");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(TokenDirectory);
        _agent = await RunningAgent.StartAsync(["--tokens-only", "--token-dir", TokenDirectory, "--token-byte-limit", "64"]);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task Serves_the_bytes_the_app_wrote()
    {
        byte[] token = [.. Encoding.UTF8.GetBytes("s3cr3t-token\n"), 0, 255];
        await File.WriteAllBytesAsync(Path.Combine(TokenDirectory, "token"), token);

        using var response = await _agent.Http.GetAsync("/token/token");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(token, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_token_not_written_yet_is_404_and_served_once_written()
    {
        using (var missing = await _agent.Http.GetAsync("/token/later"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "later"), "now");
        Assert.Equal("now", await _agent.Http.GetStringAsync("/token/later"));
    }

    [Fact]
    public async Task A_token_over_the_limit_is_413()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "big"), new string('x', 65));
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "edge"), new string('x', 64));

        using var big = await _agent.Http.GetAsync("/token/big");
        using var edge = await _agent.Http.GetAsync("/token/edge");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Equal(HttpStatusCode.OK, edge.StatusCode);
        Assert.Equal(64, (await edge.Content.ReadAsByteArrayAsync()).Length);
    }

    [Theory]
    [InlineData("bad%20key")]
    [InlineData("a%2Fb")]
    [InlineData("..%2Fsecret")]
    [InlineData("way-too-long-key-0123456789012345678901234567890123456789012345678901234567890")]
    public async Task Keys_that_are_not_plain_file_names_are_400(string key)
    {
        await File.WriteAllTextAsync(Path.Combine(_root.FullName, "secret"), "outside");

        using var response = await _agent.Http.GetAsync("/token/" + key);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_symbolic_link_out_of_the_directory_is_refused()
    {
        var outside = Path.Combine(_root.FullName, "agent-secret");
        await File.WriteAllTextAsync(outside, "the agent's own secret");
        File.CreateSymbolicLink(Path.Combine(TokenDirectory, "token"), outside);

        using var response = await _agent.Http.GetAsync("/token/token");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("secret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_under_a_key_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(TokenDirectory, "dir"));

        using var response = await _agent.Http.GetAsync("/token/dir");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Tokens_only_mode_is_ready_and_healthy_without_secret_or_cluster_agent()
    {
        Assert.Equal("ok", await _agent.Http.GetStringAsync("/healthz"));
        Assert.Equal("ready", await _agent.Http.GetStringAsync("/readyz"));
        Assert.Contains("sidecars_podagent_token_requests_total", await _agent.Http.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopping_exits_zero()
    {
        var agent = await RunningAgent.StartAsync(["--tokens-only"]);
        await agent.DisposeAsync();

        Assert.Equal(PodAgentCommand.ExitOk, await agent.Exited);
    }

    [Fact]
    public async Task Without_a_token_directory_every_key_is_404()
    {
        await using var agent = await RunningAgent.StartAsync(["--tokens-only"]);

        using var response = await agent.Http.GetAsync("/token/token");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("token", true)]
    [InlineData("key.v2_x-1", true)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    [InlineData("ключ", false)]
    public void Key_rule(string key, bool valid) => Assert.Equal(valid, TokenKeys.IsValid(key));
}
