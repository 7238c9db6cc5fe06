using k8s.Models;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Tokens;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Tokens;

namespace Sidecars.UserPods.Tests.Tokens;

/// <summary>
/// The cluster agent's token reads (<see cref="HttpTokenSource"/> as the host makes it) against a real tokens-only
/// pod-agent on 127.0.0.1: over TLS with the reader's client certificate, within the byte limit.
/// </summary>
public sealed class TokenFetchTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("sidecars-token-fetch-");
    private readonly List<TokenReaderCertificate> _certificates = [];
    private TokenReaderPki _pki = null!;
    private RunningAgent _agent = null!;

    private string TokenDirectory => Path.Combine(_root.FullName, "tokens");

    private static V1Pod Pod => new() { Status = new V1PodStatus { PodIP = "127.0.0.1" } };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(TokenDirectory);
        _pki = new TokenReaderPki(Path.Combine(_root.FullName, "pki"));
        _agent = await RunningAgent.StartAsync(["--tokens-only", "--token-dir", TokenDirectory, "--token-reader-ca", _pki.CaFile]);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _certificates.ForEach(c => c.Dispose());
        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task A_token_within_the_limit_is_returned()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "token"), "secret-value\n");

        var fetch = await Source(_pki.Reader).FetchAsync(Pod, "token", 16, CancellationToken.None);

        Assert.Equal("secret-value", fetch.Value);
    }

    [Fact]
    public async Task A_token_over_the_limit_is_refused_with_the_reason()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "big"), new string('x', 17));

        var fetch = await Source(_pki.Reader).FetchAsync(Pod, "big", 16, CancellationToken.None);

        Assert.Null(fetch.Value);
        Assert.Equal("token 'big' is larger than the limit of 16 bytes", fetch.Refusal);
    }

    [Fact]
    public async Task A_token_not_written_is_refused()
    {
        var fetch = await Source(_pki.Reader).FetchAsync(Pod, "absent", 16, CancellationToken.None);

        Assert.Contains("has not been written", fetch.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_the_pod_agent_does_not_trust_gets_no_token_and_says_why()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "token"), "secret-value");

        var fetch = await Source(_pki.ForeignCa).FetchAsync(Pod, "token", 64, CancellationToken.None);

        Assert.Null(fetch.Value);
        Assert.True(fetch.Refusal?.Contains("refused the cluster agent's client certificate (403)", StringComparison.Ordinal) == true, fetch.Refusal);
    }

    [Fact]
    public async Task Without_a_client_certificate_the_pod_agent_is_not_asked()
    {
        await File.WriteAllTextAsync(Path.Combine(TokenDirectory, "token"), "secret-value");

        var fetch = await Source(null).FetchAsync(Pod, "token", 64, CancellationToken.None);

        Assert.Null(fetch.Value);
        Assert.Contains("has no token client certificate", fetch.Refusal, StringComparison.Ordinal);
    }

    private HttpTokenSource Source((string Certificate, string Key)? client)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new UserPodsOptions
        {
            TokenPort = _agent.TokenPort,
            TokenClientCertificateFile = client?.Certificate,
            TokenClientKeyFile = client?.Key,
        });
        var certificate = new TokenReaderCertificate(options);
        _certificates.Add(certificate);
        return HttpTokenSource.Create(certificate, options);
    }
}
