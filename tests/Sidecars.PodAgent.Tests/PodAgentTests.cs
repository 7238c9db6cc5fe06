using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Blessings;
using Sidecars.PodAgent;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Identity;
using Xunit;
using IdentityClient = Sidecars.Contracts.V1.Identity.IdentityClient;
using PodAgentClient = Sidecars.Contracts.V1.PodAgent.PodAgentClient;

namespace Sidecars.PodAgent.Tests;

/// <summary>The real pod-agent role, in process, against a real cluster agent; apps talk to it over its Unix socket.</summary>
public sealed class PodAgentTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestPki _pki = null!;
    private ClusterAgentHost _host = null!;
    private string _secret = null!;

    public async Task InitializeAsync()
    {
        _pki = new TestPki(_dir.File("pki"));
        _host = await ClusterAgentHost.StartAsync(_pki, _dir.File("identity.json"), new Dictionary<string, string?>
        {
            ["Sidecars:Identity:BlessingLifetime"] = "00:00:03",
        });
        await _host.Admin().ClaimAsync(new ClaimRequest { Blessing = "root" });
        _secret = (await _host.Admin().NewSecretAsync(new NewSecretRequest { Extension = "my-service" })).Secret;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _pki.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task App_gets_blessings_and_signatures_that_verify_against_the_chain()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-0");
        var client = agent.Client();

        var blessing = await client.GetBlessingsAsync(new GetBlessingsRequest());
        var roots = await client.GetTrustRootsAsync(new GetTrustRootsRequest());
        var data = "bytes the app wants signed"u8.ToArray();
        var signed = await client.SignAsync(new SignRequest { Data = Google.Protobuf.ByteString.CopyFrom(data) });

        Assert.Equal("root:my-service:web-0", blessing.Name);
        Assert.Equal("root", roots.Names.Single());
        using var root = X509CertificateLoader.LoadCertificate(roots.Certificates[0].ToByteArray());
        var verified = new BlessingVerifier([root]).Verify([.. blessing.Chain.Select(c => c.ToByteArray())], DateTimeOffset.UtcNow);
        Assert.True(verified.IsValid, verified.Error);
        using var leaf = X509CertificateLoader.LoadCertificate(blessing.Chain[0].ToByteArray());
        using var leafKey = leaf.GetECDsaPublicKey()!;
        Assert.Equal("ecdsa-p256-sha256", signed.Algorithm);
        Assert.True(leafKey.VerifyData(data, signed.Signature.ToByteArray(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.False(leafKey.VerifyData("other bytes"u8, signed.Signature.ToByteArray(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));

        var tooBig = await Assert.ThrowsAsync<RpcException>(() => client.SignAsync(new SignRequest { Data = Google.Protobuf.ByteString.CopyFrom(new byte[(1 << 20) + 1]) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, tooBig.StatusCode);

        using var http = new HttpClient();
        Assert.Equal("ready", await http.GetStringAsync($"http://127.0.0.1:{agent.HealthPort}/readyz"));
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{agent.HealthPort}/metrics");
        Assert.Contains("sidecars_podagent_socket_calls_total{method=\"Sign\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecars_podagent_issuances_total", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignStream_answers_each_request_in_order_with_its_id_and_ends_on_a_refused_one()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-3");
        var client = agent.Client();
        using var leafKey = await LeafKeyAsync(client);
        using var stream = client.SignStream();

        for (ulong id = 7; id < 10; id++)
        {
            await stream.RequestStream.WriteAsync(new SignRequest { Id = id, Data = Google.Protobuf.ByteString.CopyFrom([(byte)id]) });
        }

        for (ulong id = 7; id < 10; id++)
        {
            Assert.True(await stream.ResponseStream.MoveNext());
            var response = stream.ResponseStream.Current;
            Assert.Equal(id, response.Id);
            Assert.Equal("root:my-service:web-3", response.Blessing);
            Assert.True(leafKey.VerifyData([(byte)id], response.Signature.Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        }

        await stream.RequestStream.WriteAsync(new SignRequest { Id = 10, Data = Google.Protobuf.ByteString.CopyFrom(new byte[(1 << 20) + 1]) });
        var refused = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("at most", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignStream_answers_every_request_sent_before_any_answer_was_read_then_the_refusal()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-6");
        var client = agent.Client();
        using var leafKey = await LeafKeyAsync(client);
        using var stream = client.SignStream();

        // Sent back to back before anything is read: every one is answered, in order, and a refusal sent after more
        // requests does not swallow their answers.
        const ulong count = 100;
        for (ulong id = 1; id <= count; id++)
        {
            await stream.RequestStream.WriteAsync(new SignRequest { Id = id, Data = Google.Protobuf.ByteString.CopyFrom(BitConverter.GetBytes(id)) });
        }

        for (ulong id = 1; id <= count; id++)
        {
            Assert.True(await stream.ResponseStream.MoveNext().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(id, stream.ResponseStream.Current.Id);
            Assert.True(leafKey.VerifyData(BitConverter.GetBytes(id), stream.ResponseStream.Current.Signature.Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        }

        for (ulong id = count + 1; id <= count + 3; id++)
        {
            await stream.RequestStream.WriteAsync(new SignRequest { Id = id, Data = Google.Protobuf.ByteString.CopyFrom([(byte)id]) });
        }

        await stream.RequestStream.WriteAsync(new SignRequest { Id = count + 4, Data = Google.Protobuf.ByteString.CopyFrom(new byte[(1 << 20) + 1]) });
        for (ulong id = count + 1; id <= count + 3; id++)
        {
            Assert.True(await stream.ResponseStream.MoveNext().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(id, stream.ResponseStream.Current.Id);
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
    }

    [Fact]
    public async Task Signer_shares_one_stream_among_concurrent_callers_batches_them_and_refuses_oversized_data_itself()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-4");
        var client = agent.Client();
        using var leafKey = await LeafKeyAsync(client);
        await using var signer = new PodAgentSigner(client);

        using var http = new HttpClient();
        var metricsUrl = $"http://127.0.0.1:{agent.HealthPort}/metrics";
        var before = await http.GetStringAsync(metricsUrl);

        var payloads = Enumerable.Range(0, 200).Select(i => BitConverter.GetBytes(i)).ToArray();
        var tooBig = Assert.ThrowsAsync<ArgumentException>(() => signer.SignAsync(new byte[(1 << 20) + 1]));
        var signed = await Task.WhenAll(payloads.Select(p => Task.Run(() => signer.SignAsync(p))));
        await tooBig;

        Assert.All(payloads.Zip(signed), pair =>
        {
            Assert.Equal("root:my-service:web-4", pair.Second.Blessing);
            Assert.True(leafKey.VerifyData(pair.First, pair.Second.Signature.Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        });
        var after = await http.GetStringAsync(metricsUrl);
        Assert.Equal(1, Sample(after, Streams) - Sample(before, Streams));
        Assert.Equal(200, Sample(after, Signatures) - Sample(before, Signatures));
        // Callers that queue while a request is written share the next one, at most the signer's batch each.
        var requests = Sample(after, Requests) - Sample(before, Requests);
        Assert.InRange(requests, Math.Ceiling(200.0 / PodAgentSigner.DefaultMaxBatch), 199);
    }

    [Fact]
    public async Task Signer_with_a_batch_of_one_sends_a_request_per_signature()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-7");
        var client = agent.Client();
        using var leafKey = await LeafKeyAsync(client);
        await using var signer = new PodAgentSigner(client, maxBatch: 1);
        using var http = new HttpClient();
        var metricsUrl = $"http://127.0.0.1:{agent.HealthPort}/metrics";
        var before = await http.GetStringAsync(metricsUrl);

        var payloads = Enumerable.Range(0, 50).Select(i => BitConverter.GetBytes(i)).ToArray();
        var signed = await Task.WhenAll(payloads.Select(p => Task.Run(() => signer.SignAsync(p))));

        Assert.All(payloads.Zip(signed), pair =>
            Assert.True(leafKey.VerifyData(pair.First, pair.Second.Signature.Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)));
        Assert.Equal(50, signed.Select(s => s.Id).Distinct().Count());
        var after = await http.GetStringAsync(metricsUrl);
        Assert.Equal(50, Sample(after, Requests) - Sample(before, Requests));
        Assert.Equal(50, Sample(after, Signatures) - Sample(before, Signatures));
    }

    [Fact]
    public async Task A_batch_is_answered_with_a_signature_per_payload_in_order_on_the_stream_and_by_a_call()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-8");
        var client = agent.Client();
        using var leafKey = await LeafKeyAsync(client);
        var payloads = new[] { "first"u8.ToArray(), "second"u8.ToArray(), Array.Empty<byte>(), new byte[300_000] };
        var request = new SignRequest { Id = 41 };
        request.Batch.AddRange(payloads.Select(Google.Protobuf.ByteString.CopyFrom));

        using var stream = client.SignStream();
        await stream.RequestStream.WriteAsync(request);
        await stream.RequestStream.WriteAsync(new SignRequest { Id = 42, Data = Google.Protobuf.ByteString.CopyFrom("alone"u8) });
        Assert.True(await stream.ResponseStream.MoveNext());
        var streamed = stream.ResponseStream.Current;
        Assert.True(await stream.ResponseStream.MoveNext());
        var alone = stream.ResponseStream.Current;
        await stream.RequestStream.CompleteAsync();
        var called = await client.SignAsync(request);

        foreach (var answer in new[] { streamed, called })
        {
            Assert.Equal(41UL, answer.Id);
            Assert.True(answer.Signature.IsEmpty);
            Assert.Equal("ecdsa-p256-sha256", answer.Algorithm);
            Assert.Equal(payloads.Length, answer.BatchSignatures.Count);
            for (var i = 0; i < payloads.Length; i++)
            {
                Assert.True(leafKey.VerifyData(payloads[i], answer.BatchSignatures[i].Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
                // Each signature is of its own payload: not of its neighbour's.
                Assert.False(leafKey.VerifyData(payloads[(i + 1) % payloads.Length], answer.BatchSignatures[i].Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
            }
        }

        Assert.Equal(42UL, alone.Id);
        Assert.Empty(alone.BatchSignatures);
        Assert.True(leafKey.VerifyData("alone"u8, alone.Signature.Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));

        // A batch large enough to be shared among the cores keeps its order too.
        var many = new SignRequest();
        many.Batch.AddRange(Enumerable.Range(0, 203).Select(i => Google.Protobuf.ByteString.CopyFrom(BitConverter.GetBytes(i))));
        var manySigned = await client.SignAsync(many);
        Assert.Equal(203, manySigned.BatchSignatures.Count);
        for (var i = 0; i < 203; i++)
        {
            Assert.True(leafKey.VerifyData(BitConverter.GetBytes(i), manySigned.BatchSignatures[i].Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence), $"payload {i}");
        }
    }

    [Fact]
    public async Task A_batch_out_of_bounds_is_refused_with_its_reason()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-10");
        var client = agent.Client();

        async Task<RpcException> RefusedAsync(SignRequest request) =>
            await Assert.ThrowsAsync<RpcException>(() => client.SignAsync(request).ResponseAsync);

        var both = new SignRequest { Data = Google.Protobuf.ByteString.CopyFrom("data"u8) };
        both.Batch.Add(Google.Protobuf.ByteString.CopyFrom("batch"u8));
        var tooMany = new SignRequest();
        tooMany.Batch.AddRange(Enumerable.Range(0, PodAgentSigner.MaxBatchPayloads + 1).Select(i => Google.Protobuf.ByteString.CopyFrom(BitConverter.GetBytes(i))));
        // 1 MiB and 8 KiB of payloads: within the socket's message limit, over the batch's.
        var tooLarge = new SignRequest();
        tooLarge.Batch.Add(Google.Protobuf.ByteString.CopyFrom(new byte[(512 + 4) * 1024]));
        tooLarge.Batch.Add(Google.Protobuf.ByteString.CopyFrom(new byte[(512 + 4) * 1024]));

        var refusals = new[] { await RefusedAsync(both), await RefusedAsync(tooMany), await RefusedAsync(tooLarge) };

        Assert.All(refusals, refused => Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode));
        Assert.Equal("a request carries data or a batch, not both", refusals[0].Status.Detail);
        Assert.Equal($"a batch holds at most {PodAgentSigner.MaxBatchPayloads} payloads, not {PodAgentSigner.MaxBatchPayloads + 1}", refusals[1].Status.Detail);
        Assert.Equal($"a batch's payloads must be at most {1 << 20} bytes in all, not {2 * (512 + 4) * 1024}", refusals[2].Status.Detail);
        // Refused calls leave the agent serving.
        Assert.False((await client.SignAsync(new SignRequest { Data = Google.Protobuf.ByteString.CopyFrom("after"u8) })).Signature.IsEmpty);
    }

    [Fact]
    public async Task Signer_fails_its_callers_when_the_agent_goes_and_opens_a_new_stream_when_it_is_back()
    {
        var socket = _dir.File("web-5.sock");
        var agent = await RunningAgent.StartAsync(this, "web-5", socket);
        var client = agent.Client();
        await using var signer = new PodAgentSigner(client);
        await signer.SignAsync("before"u8.ToArray());

        await agent.DisposeAsync();
        var gone = await Assert.ThrowsAsync<RpcException>(() => signer.SignAsync("while gone"u8.ToArray()));
        Assert.Equal(StatusCode.Unavailable, gone.StatusCode);

        await using var back = await RunningAgent.StartAsync(this, "web-5", socket);
        using var leafKey = await LeafKeyAsync(client);
        var after = await signer.SignAsync("after"u8.ToArray());
        Assert.True(leafKey.VerifyData("after"u8, after.Signature.Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public async Task WatchBlessings_reports_each_renewal_and_ForgetSecret_stops_them()
    {
        await using var agent = await RunningAgent.StartAsync(this, "web-1");
        using var watch = agent.Client().WatchBlessings(new WatchBlessingsRequest());

        Assert.True(await watch.ResponseStream.MoveNext());
        var first = watch.ResponseStream.Current;
        Assert.True(await watch.ResponseStream.MoveNext());
        var renewed = watch.ResponseStream.Current;

        Assert.Equal(first.Name, renewed.Name);
        Assert.True(renewed.NotAfter.ToDateTimeOffset() > first.NotAfter.ToDateTimeOffset());
        Assert.NotEqual(first.Chain[0], renewed.Chain[0]);

        await _host.Admin().ForgetSecretAsync(new ForgetSecretRequest { Secret = _secret });

        var exit = await agent.Exit.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PodAgentCommand.ExitSecretRevoked, exit);
        Assert.Contains("revoked", agent.Errors, StringComparison.Ordinal);
        Assert.False(File.Exists(agent.Socket));
    }

    [Fact]
    public async Task Missing_or_unknown_secret_exits_non_zero_with_a_message()
    {
        var errors = new StringWriter();
        var missing = await PodAgentCommand.RunAsync(
            ["--socket", _dir.File("a.sock"), "--secret-file", _dir.File("absent"), "--cluster-agent", _host.Address,
             "--cluster-agent-ca", _pki.ServerCaPemPath, "--pod-name", "web-0", "--health-port", "0"],
            _ => null, errors, default);
        Assert.Equal(PodAgentCommand.ExitSecretMissing, missing);
        Assert.Contains("no secret in", errors.ToString(), StringComparison.Ordinal);

        await File.WriteAllTextAsync(_dir.File("unknown"), Sidecars.Identity.Secrets.SecretCodec.NewSecret());
        errors = new StringWriter();
        var unknown = await PodAgentCommand.RunAsync(
            ["--socket", _dir.File("b.sock"), "--secret-file", _dir.File("unknown"), "--cluster-agent", _host.Address,
             "--cluster-agent-ca", _pki.ServerCaPemPath, "--pod-name", "web-0", "--health-port", "0"],
            _ => null, errors, default);
        Assert.Equal(PodAgentCommand.ExitSecretRevoked, unknown);
        Assert.Contains("forgotten", errors.ToString(), StringComparison.Ordinal);

        var usage = await PodAgentCommand.RunAsync(["--bogus"], _ => null, new StringWriter(), default);
        Assert.Equal(PodAgentCommand.ExitUsage, usage);
        var plaintext = await PodAgentCommand.RunAsync(["--cluster-agent", "http://10.1.2.3:9000", "--pod-name", "x"], _ => null, errors, default);
        Assert.Equal(PodAgentCommand.ExitUsage, plaintext);
    }

    [Fact]
    public async Task Wait_ready_returns_once_the_socket_serves_blessings()
    {
        var socket = _dir.File("w.sock");
        var waiting = PodAgentCommand.RunAsync(["--wait-ready", "--socket", socket, "--timeout", "60"], _ => null, new StringWriter(), default);
        await using var agent = await RunningAgent.StartAsync(this, "web-2", socket);

        Assert.Equal(0, await waiting.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(PodAgentCommand.ExitNotReady, await PodAgentCommand.RunAsync(
            ["--wait-ready", "--socket", _dir.File("none.sock"), "--timeout", "1"], _ => null, new StringWriter(), default));
    }

    [Fact]
    public async Task Replicas_do_mutual_tls_with_issued_certificates_and_a_forged_one_fails()
    {
        var roots = await _host.Anonymous().GetTrustRootsAsync(new GetTrustRootsRequest());
        using var root = X509CertificateLoader.LoadCertificate(roots.Certificates[0].ToByteArray());
        using var web0 = await IssueAsync("web-0");
        using var web1 = await IssueAsync("web-1");
        using var forgerRoot = BlessingAuthority.CreateRoot("root", DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        using var forgedKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forgedChain = forgerRoot.Issue("root:my-service:web-9", forgedKey, DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        using var forgedLeaf = X509CertificateLoader.LoadCertificate(forgedChain.Chain[0]);
        using var forged = forgedLeaf.CopyWithPrivateKey(forgedKey);

        var (serverSaw, clientSaw) = await MutualTls.HandshakeAsync(web0, web1, root);
        Assert.Equal("root:my-service:web-1", serverSaw);
        Assert.Equal("root:my-service:web-0", clientSaw);

        await Assert.ThrowsAnyAsync<Exception>(() => MutualTls.HandshakeAsync(web0, forged, root));
        await Assert.ThrowsAnyAsync<Exception>(() => MutualTls.HandshakeAsync(forged, web1, root));
    }

    private async Task<X509Certificate2> IssueAsync(string replica)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var blessing = (await _host.Anonymous().SeekBlessingsAsync(SeekRequests.Seek(_secret, key, replica))).Blessing;
        using var leaf = X509CertificateLoader.LoadCertificate(blessing.Chain[0].ToByteArray());
        using var withKey = leaf.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The value of one sample in a Prometheus text exposition, 0 when absent.</summary>
    private const string Streams = "sidecars_podagent_socket_calls_total{method=\"SignStream\"}";
    private const string Signatures = "sidecars_podagent_streamed_signatures_total";
    private const string Requests = "sidecars_podagent_streamed_requests_total";

    private static double Sample(string exposition, string series) =>
        exposition.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).SingleOrDefault();

    private static async Task<ECDsa> LeafKeyAsync(PodAgentClient client)
    {
        var blessing = await client.GetBlessingsAsync(new GetBlessingsRequest());
        using var leaf = X509CertificateLoader.LoadCertificate(blessing.Chain[0].ToByteArray());
        return leaf.GetECDsaPublicKey()!;
    }

    private sealed class RunningAgent : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly StringWriter _errors = new();

        private RunningAgent(string socket, int healthPort)
        {
            Socket = socket;
            HealthPort = healthPort;
        }

        public string Socket { get; }

        public int HealthPort { get; }

        public Task<int> Exit { get; private set; } = Task.FromResult(0);

        public string Errors => _errors.ToString();

        public static async Task<RunningAgent> StartAsync(PodAgentTests test, string replica, string? socket = null)
        {
            var secretFile = test._dir.File(replica + ".secret");
            await File.WriteAllTextAsync(secretFile, test._secret + "\n");
            var agent = new RunningAgent(socket ?? test._dir.File(replica + ".sock"), Sidecars.Testing.Agent.FreePort.Next());
            agent.Exit = Task.Run(() => PodAgentCommand.RunAsync(
                ["--socket", agent.Socket, "--secret-file", secretFile, "--cluster-agent", test._host.Address,
                 "--cluster-agent-ca", test._pki.ServerCaPemPath, "--pod-name", replica, "--pod-ip", "127.0.0.1",
                 "--health-port", agent.HealthPort.ToString(), "--renew-at", "0.5", "--blessing", "my-service"],
                _ => null, agent._errors, agent._stop.Token));
            var ready = await PodAgentCommand.RunAsync(["--wait-ready", "--socket", agent.Socket, "--timeout", "60"], _ => null, agent._errors, default);
            Assert.True(ready == 0, "agent did not become ready: " + agent.Errors);
            return agent;
        }

        public PodAgentClient Client() => new(PodAgentSocket.CreateChannel(Socket));

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Exit;
            _stop.Dispose();
        }
    }
}
