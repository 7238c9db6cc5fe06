using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Admin;
using IdentityClient = Sidecars.Contracts.V1.Identity.IdentityClient;
using Sidecars.Identity.Blessings;
using Sidecars.Testing.Identity;
using static Sidecars.Testing.Identity.SeekRequests;
using Xunit;

namespace Sidecars.Identity.Tests;

/// <summary>The identity service over real gRPC (HTTPS on loopback) with admin client certificates.</summary>
public sealed class IdentityServiceTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestPki _pki = null!;
    private ClusterAgentHost _host = null!;

    public async Task InitializeAsync()
    {
        _pki = new TestPki(_dir.File("pki"));
        _host = await ClusterAgentHost.StartAsync(_pki, _dir.File("identity.json"));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _pki.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Nothing_is_issued_before_claim()
    {
        var newSecret = await Assert.ThrowsAsync<RpcException>(() => _host.Admin().NewSecretAsync(new NewSecretRequest { Extension = "app" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, newSecret.StatusCode);
        Assert.Contains("not claimed", newSecret.Status.Detail, StringComparison.Ordinal);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var seek = await Assert.ThrowsAsync<RpcException>(() => _host.Anonymous().SeekBlessingsAsync(Seek(Sidecars.Identity.Secrets.SecretCodec.NewSecret(), key, "web-0")).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, seek.StatusCode);
        Assert.Empty((await _host.Anonymous().GetTrustRootsAsync(new GetTrustRootsRequest())).Certificates);
    }

    [Fact]
    public async Task Admin_calls_need_an_admin_client_certificate()
    {
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => _host.Anonymous().ClaimAsync(new ClaimRequest { Blessing = "root" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);

        using var otherCa = AdminCredentials.CreateCertificateAuthority("mallory-ca");
        using var mallory = AdminCredentials.IssueClientCertificate(otherCa, "mallory");
        using var channel = AdminCredentials.CreateChannel(_host.Address, mallory, _pki.ServerRoots);
        var forged = await Assert.ThrowsAsync<RpcException>(() => new IdentityClient(channel).ClaimAsync(new ClaimRequest { Blessing = "root" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);

        var claimed = await _host.Admin().ClaimAsync(new ClaimRequest { Blessing = "root" });
        Assert.Equal("root", claimed.Blessing);

        var again = await Assert.ThrowsAsync<RpcException>(() => _host.Admin().ClaimAsync(new ClaimRequest { Blessing = "other" }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, again.StatusCode);
        foreach (var call in new Func<Task>[]
        {
            () => _host.Anonymous().NewSecretAsync(new NewSecretRequest { Extension = "app" }).ResponseAsync,
            () => _host.Anonymous().ForgetSecretAsync(new ForgetSecretRequest { Secret = "x" }).ResponseAsync,
        })
        {
            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }
    }

    [Fact]
    public async Task SeekBlessings_issues_a_verifiable_chain_for_the_callers_key()
    {
        var root = await _host.Admin().ClaimAsync(new ClaimRequest { Blessing = "root" });
        var secret = await _host.Admin().NewSecretAsync(new NewSecretRequest { Extension = "my-service" });
        Assert.Equal("root:my-service", secret.Blessing);
        Assert.Equal(43, secret.Secret.Length);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var response = await _host.Anonymous().SeekBlessingsAsync(Seek(secret.Secret, key, "web-0"));

        var blessing = response.Blessing;
        Assert.Equal("root:my-service:web-0", blessing.Name);
        var roots = await _host.Anonymous().GetTrustRootsAsync(new GetTrustRootsRequest());
        Assert.Equal(root.RootCertificate, roots.Certificates.Single());
        Assert.Equal("root", roots.Names.Single());
        using var rootCert = X509CertificateLoader.LoadCertificate(roots.Certificates[0].ToByteArray());
        var verified = new BlessingVerifier([rootCert]).Verify([.. blessing.Chain.Select(c => c.ToByteArray())], DateTimeOffset.UtcNow);
        Assert.True(verified.IsValid, verified.Error);
        var lifetime = new IdentityOptions().BlessingLifetime;
        Assert.InRange(blessing.NotAfter.ToDateTimeOffset() - DateTimeOffset.UtcNow, lifetime - TimeSpan.FromSeconds(5), lifetime + TimeSpan.FromSeconds(1));
        using var leaf = X509CertificateLoader.LoadCertificate(blessing.Chain[0].ToByteArray());
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), leaf.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task Forgotten_secrets_are_refused_with_a_clear_reason()
    {
        await _host.Admin().ClaimAsync(new ClaimRequest { Blessing = "root" });
        var secret = await _host.Admin().NewSecretAsync(new NewSecretRequest { Extension = "app" });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await _host.Anonymous().SeekBlessingsAsync(Seek(secret.Secret, key, "web-0"));

        var forgotten = await _host.Admin().ForgetSecretAsync(new ForgetSecretRequest { Secret = secret.Secret });

        Assert.Equal("root:app", forgotten.Blessing);
        var refused = await Assert.ThrowsAsync<RpcException>(() => _host.Anonymous().SeekBlessingsAsync(Seek(secret.Secret, key, "web-0")).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("forgotten", refused.Status.Detail, StringComparison.Ordinal);
        var twice = await Assert.ThrowsAsync<RpcException>(() => _host.Admin().ForgetSecretAsync(new ForgetSecretRequest { Secret = secret.Secret }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, twice.StatusCode);
    }

    [Fact]
    public async Task Hostile_inputs_get_clear_errors_and_the_server_keeps_serving()
    {
        await _host.Admin().ClaimAsync(new ClaimRequest { Blessing = "root" });
        var secret = (await _host.Admin().NewSecretAsync(new NewSecretRequest { Extension = "app" })).Secret;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var admin = _host.Admin();
        var anyone = _host.Anonymous();

        var cases = new (string Name, Func<Task> Call, StatusCode Expected)[]
        {
            ("claim empty", () => admin.ClaimAsync(new ClaimRequest()).ResponseAsync, StatusCode.InvalidArgument),
            ("secret empty extension", () => admin.NewSecretAsync(new NewSecretRequest()).ResponseAsync, StatusCode.InvalidArgument),
            ("secret bad extension", () => admin.NewSecretAsync(new NewSecretRequest { Extension = "a/b" }).ResponseAsync, StatusCode.InvalidArgument),
            ("secret huge extension", () => admin.NewSecretAsync(new NewSecretRequest { Extension = new string('a', 100_000) }).ResponseAsync, StatusCode.InvalidArgument),
            ("secret control chars", () => admin.NewSecretAsync(new NewSecretRequest { Extension = "a\0b" }).ResponseAsync, StatusCode.InvalidArgument),
            ("forget empty", () => admin.ForgetSecretAsync(new ForgetSecretRequest()).ResponseAsync, StatusCode.InvalidArgument),
            ("forget malformed", () => admin.ForgetSecretAsync(new ForgetSecretRequest { Secret = "not-a-secret" }).ResponseAsync, StatusCode.InvalidArgument),
            ("forget unknown", () => admin.ForgetSecretAsync(new ForgetSecretRequest { Secret = Sidecars.Identity.Secrets.SecretCodec.NewSecret() }).ResponseAsync, StatusCode.PermissionDenied),
            ("seek empty", () => anyone.SeekBlessingsAsync(new SeekBlessingsRequest()).ResponseAsync, StatusCode.InvalidArgument),
            ("seek unknown secret", () => anyone.SeekBlessingsAsync(Seek(Sidecars.Identity.Secrets.SecretCodec.NewSecret(), key, "web-0")).ResponseAsync, StatusCode.PermissionDenied),
            ("seek malformed secret", () => anyone.SeekBlessingsAsync(Seek(secret + "A", key, "web-0")).ResponseAsync, StatusCode.InvalidArgument),
            ("seek padded secret", () => anyone.SeekBlessingsAsync(Seek(secret[..42] + "=", key, "web-0")).ResponseAsync, StatusCode.InvalidArgument),
            ("seek no key", () => anyone.SeekBlessingsAsync(new SeekBlessingsRequest { Secret = secret, Replica = "web-0" }).ResponseAsync, StatusCode.InvalidArgument),
            ("seek garbage key", () => anyone.SeekBlessingsAsync(new SeekBlessingsRequest { Secret = secret, Replica = "web-0", PublicKey = ByteString.CopyFrom(new byte[300]) }).ResponseAsync, StatusCode.InvalidArgument),
            ("seek rsa key", () => anyone.SeekBlessingsAsync(new SeekBlessingsRequest { Secret = secret, Replica = "web-0", PublicKey = ByteString.CopyFrom(rsa.ExportSubjectPublicKeyInfo()) }).ResponseAsync, StatusCode.InvalidArgument),
            ("seek p384 key", () => anyone.SeekBlessingsAsync(new SeekBlessingsRequest { Secret = secret, Replica = "web-0", PublicKey = ByteString.CopyFrom(p384.ExportSubjectPublicKeyInfo()) }).ResponseAsync, StatusCode.InvalidArgument),
            ("seek no replica", () => anyone.SeekBlessingsAsync(Seek(secret, key, "")).ResponseAsync, StatusCode.InvalidArgument),
            ("seek replica with colon", () => anyone.SeekBlessingsAsync(Seek(secret, key, "web:0")).ResponseAsync, StatusCode.InvalidArgument),
            ("seek huge replica", () => anyone.SeekBlessingsAsync(Seek(secret, key, new string('w', 10_000))).ResponseAsync, StatusCode.InvalidArgument),
        };

        foreach (var (name, call, expected) in cases)
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.True(expected == error.StatusCode, $"{name}: expected {expected}, got {error.StatusCode} ({error.Status.Detail})");
            Assert.False(string.IsNullOrWhiteSpace(error.Status.Detail), name);
        }

        Assert.Equal("root:app:web-0", (await anyone.SeekBlessingsAsync(Seek(secret, key, "web-0"))).Blessing.Name);
    }

    [Fact]
    public async Task Repeated_failures_from_one_caller_are_rate_limited()
    {
        await using var strict = await ClusterAgentHost.StartAsync(_pki, _dir.File("strict.json"), new Dictionary<string, string?>
        {
            ["Sidecars:Identity:FailureBurst"] = "3",
            ["Sidecars:Identity:FailuresPerSecond"] = "1",
        });
        await strict.Admin().ClaimAsync(new ClaimRequest { Blessing = "root" });
        var secret = (await strict.Admin().NewSecretAsync(new NewSecretRequest { Extension = "app" })).Secret;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var anyone = strict.Anonymous();

        StatusCode last = StatusCode.OK;
        for (var i = 0; i < 10 && last != StatusCode.ResourceExhausted; i++)
        {
            last = (await Assert.ThrowsAsync<RpcException>(() => anyone.SeekBlessingsAsync(Seek(Sidecars.Identity.Secrets.SecretCodec.NewSecret(), key, "web-0")).ResponseAsync)).StatusCode;
        }

        Assert.Equal(StatusCode.ResourceExhausted, last);

        // Even the right secret is refused while the caller is blocked.
        var blocked = await Assert.ThrowsAsync<RpcException>(() => anyone.SeekBlessingsAsync(Seek(secret, key, "web-0")).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, blocked.StatusCode);
    }

    [Fact]
    public async Task Root_and_secrets_survive_a_restart()
    {
        var path = _dir.File("restart.json");
        string secret;
        ByteString rootCertificate;
        await using (var first = await ClusterAgentHost.StartAsync(_pki, path))
        {
            rootCertificate = (await first.Admin().ClaimAsync(new ClaimRequest { Blessing = "acme" })).RootCertificate;
            secret = (await first.Admin().NewSecretAsync(new NewSecretRequest { Extension = "billing" })).Secret;
        }

        Assert.DoesNotContain(secret, await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        await using var second = await ClusterAgentHost.StartAsync(_pki, path);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var blessing = (await second.Anonymous().SeekBlessingsAsync(Seek(secret, key, "web-0"))).Blessing;

        Assert.Equal("acme:billing:web-0", blessing.Name);
        Assert.Equal(rootCertificate, blessing.Chain[^1]);
        Assert.Equal(StatusCode.AlreadyExists, (await Assert.ThrowsAsync<RpcException>(() => second.Admin().ClaimAsync(new ClaimRequest { Blessing = "acme" }).ResponseAsync)).StatusCode);
    }
}
