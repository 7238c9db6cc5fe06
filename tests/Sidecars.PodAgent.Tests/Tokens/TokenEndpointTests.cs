using System.Net;
using System.Text;
using Sidecars.PodAgent.Tokens;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Tokens;

namespace Sidecars.PodAgent.Tests;

/// <summary>
/// GET /token/{key} of a real tokens-only pod-agent on 127.0.0.1 over a token directory the "app" writes, asked by the
/// token reader over TLS with its client certificate.
/// </summary>
public sealed class TokenEndpointTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("sidecars-tokens-");
    private TokenReaderPki _pki = null!;
    private HttpClient _reader = null!;
    private RunningAgent _agent = null!;

    private string TokenDirectory => Path.Combine(_root.FullName, "tokens");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(TokenDirectory);
        _pki = new TokenReaderPki(Path.Combine(_root.FullName, "pki"));
        _reader = TokenReaderPki.Client(_pki.Reader);
        _agent = await RunningAgent.StartAsync(
            ["--tokens-only", "--token-dir", TokenDirectory, "--token-byte-limit", "64", "--token-reader-ca", _pki.CaFile]);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _reader.Dispose();
        _root.Delete(recursive: true);
    }

    private Task<HttpResponseMessage> GetTokenAsync(string key) => _reader.GetAsync(_agent.TokenUrl(key));

    [Fact]
    public async Task Serves_the_bytes_the_app_wrote()
    {
        byte[] token = [.. Encoding.UTF8.GetBytes("s3cr3t-token\n"), 0, 255];
        await File.WriteAllBytesAsync(Path.Combine(TokenDirectory, "token"), token);

        using var response = await GetTokenAsync("token");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(token, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_token_not_written_yet_is_404_and_served_once_written()
    {
        using (var missing = await GetTokenAsync("later"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "later"), "now");
        Assert.Equal("now", await _reader.GetStringAsync(_agent.TokenUrl("later")));
    }

    [Fact]
    public async Task A_token_over_the_limit_is_413()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "big"), new string('x', 65));
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "edge"), new string('x', 64));

        using var big = await GetTokenAsync("big");
        using var edge = await GetTokenAsync("edge");

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

        using var response = await GetTokenAsync(key);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_symbolic_link_out_of_the_directory_is_refused()
    {
        var outside = Path.Combine(_root.FullName, "agent-secret");
        await File.WriteAllTextAsync(outside, "the agent's own secret");
        File.CreateSymbolicLink(Path.Combine(TokenDirectory, "token"), outside);

        using var response = await GetTokenAsync("token");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("secret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_under_a_key_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(TokenDirectory, "dir"));

        using var response = await GetTokenAsync("dir");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Tokens_only_mode_is_ready_healthy_and_measured_in_plain_http_without_secret_or_cluster_agent()
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
    public async Task Without_a_token_directory_no_token_port_listens()
    {
        await using var agent = await RunningAgent.StartAsync(["--tokens-only", "--token-reader-ca", _pki.CaFile]);

        await Assert.ThrowsAsync<HttpRequestException>(() => _reader.GetAsync(agent.TokenUrl("token")));
        using var plain = await agent.Http.GetAsync("/token/token");
        Assert.Equal(HttpStatusCode.NotFound, plain.StatusCode);
    }

    [Fact]
    public async Task A_caller_without_a_client_certificate_is_401_and_gets_no_token()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "token"), "s3cr3t-token");
        using var anonymous = TokenReaderPki.Client(null);

        using var response = await anonymous.GetAsync(_agent.TokenUrl("token"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("s3cr3t", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Certificates_for_another_name_or_from_another_ca_are_403()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "token"), "s3cr3t-token");
        using var wrongName = TokenReaderPki.Client(_pki.WrongName);
        using var foreignCa = TokenReaderPki.Client(_pki.ForeignCa);

        using var byName = await wrongName.GetAsync(_agent.TokenUrl("token"));
        using var byCa = await foreignCa.GetAsync(_agent.TokenUrl("token"));

        Assert.Equal(HttpStatusCode.Forbidden, byName.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byCa.StatusCode);
        Assert.DoesNotContain("s3cr3t", await byName.Content.ReadAsStringAsync() + await byCa.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_ca_bundle_even_the_reader_is_403()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "token"), "s3cr3t-token");
        await using var agent = await RunningAgent.StartAsync(["--tokens-only", "--token-dir", TokenDirectory]);

        using var response = await _reader.GetAsync(agent.TokenUrl("token"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task The_plain_health_port_serves_no_token()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "token"), "s3cr3t-token");

        using var response = await _agent.Http.GetAsync("/token/token");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("s3cr3t", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
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
