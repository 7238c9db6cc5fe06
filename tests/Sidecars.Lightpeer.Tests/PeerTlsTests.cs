using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Sidecars.Certificates.Issuing;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;

namespace Sidecars.Lightpeer.Tests;

/// <summary>Lightpeers with <c>--tls-dir</c>, in-process on loopback: who may call them, and rotation of their files.</summary>
public sealed class PeerTlsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly Peers _peers = new();
    private readonly List<string> _directories = [];
    private readonly PemPair _authority = CertificateIssuer.CreateAuthority("test-network-ca", Now.AddMinutes(-5), TimeSpan.FromDays(1));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _peers.DisposeAsync();
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_controller_joins_TLS_peers_that_then_exchange_over_TLS_and_nobody_else_may_join_or_forget()
    {
        var a = await StartAsync(Issue(_authority, SidecarsNames.LightpeerPeerName("team-a")));
        var b = await StartAsync(Issue(_authority, SidecarsNames.LightpeerPeerName("team-a")));
        using var controller = Clients(Issue(_authority, SidecarsNames.NetworkControllerName), _authority);

        var joined = await controller.Get(b.Address).JoinAsync(new JoinRequest { Address = a.Address });

        Assert.True(joined.Joined, joined.Error);
        await Eventually.HoldsAsync(
            async () =>
            {
                var peers = (await controller.Get(a.Address).PeersAsync(new PeersRequest())).Peers;
                return (peers.SequenceEqual([b.Address]), string.Join(",", peers));
            },
            "a learnt b from b's exchange over TLS");

        // A peer certificate of the same CA: may ask and exchange, may not join or forget.
        using var peer = Clients(Issue(_authority, SidecarsNames.LightpeerPeerName("team-a")), _authority);
        Assert.Equal([b.Address], (await peer.Get(a.Address).PeersAsync(new PeersRequest())).Peers);
        var forget = await Assert.ThrowsAsync<RpcException>(() => peer.Get(a.Address).ForgetAsync(new ForgetRequest { Addresses = { b.Address } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, forget.StatusCode);
        Assert.Contains("team-a.lightpeer.sidecars.internal", forget.Status.Detail, StringComparison.Ordinal);
        var join = await Assert.ThrowsAsync<RpcException>(() => peer.Get(a.Address).JoinAsync(new JoinRequest { Address = "127.0.0.9:9081" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, join.StatusCode);

        // The controller's name from another CA: not a network certificate at all.
        var stranger = CertificateIssuer.CreateAuthority("another-ca", Now.AddMinutes(-5), TimeSpan.FromDays(1));
        using var impostor = Clients(Issue(stranger, SidecarsNames.NetworkControllerName), _authority);
        var impostorForget = await Assert.ThrowsAsync<RpcException>(() => impostor.Get(a.Address).ForgetAsync(new ForgetRequest { Addresses = { b.Address } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, impostorForget.StatusCode);
        Assert.Contains("another-ca", impostorForget.Status.Detail, StringComparison.Ordinal);

        // No client certificate; and h2c, which a TLS lightpeer does not speak.
        using var anonymous = GrpcChannel.ForAddress("https://" + a.Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } },
        });
        var anonymousForget = await Assert.ThrowsAsync<RpcException>(() => new Contracts.V1.Lightpeer.LightpeerClient(anonymous)
            .ForgetAsync(new ForgetRequest { Addresses = { b.Address } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymousForget.StatusCode);
        var plain = await Assert.ThrowsAsync<RpcException>(() => _peers.Client(a).ForgetAsync(
            new ForgetRequest { Addresses = { b.Address } }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, plain.StatusCode);

        Assert.Equal([b.Address], a.Node.Peers.Snapshot());
        Assert.Equal([a.Address], b.Node.Peers.Snapshot());
    }

    [Fact]
    public async Task Rotated_files_are_used_without_a_restart()
    {
        var directory = NewDirectory();
        Write(directory, Issue(_authority, SidecarsNames.LightpeerPeerName("team-a")), _authority);
        var a = await StartAsync(directory);
        using var before = Clients(Issue(_authority, SidecarsNames.NetworkControllerName), _authority);
        Assert.Equal(a.Address, (await before.Get(a.Address).HealthAsync(new HealthRequest())).Self);

        // A new CA: the kubelet swaps the Secret's files; a controller certificate of the new CA is accepted from then on.
        var next = CertificateIssuer.CreateAuthority("test-network-ca-2", Now.AddMinutes(-5), TimeSpan.FromDays(1));
        Write(directory, Issue(next, SidecarsNames.LightpeerPeerName("team-a")), next);
        await Eventually.UntilAsync(
            async () =>
            {
                using var after = Clients(Issue(next, SidecarsNames.NetworkControllerName), next);
                try
                {
                    return (await after.Get(a.Address).HealthAsync(new HealthRequest())).Self == a.Address;
                }
                catch (RpcException)
                {
                    return false;
                }
            },
            "the lightpeer trusts the new CA and serves the new certificate",
            TimeSpan.FromSeconds(60));
    }

    private async Task<LightpeerServer> StartAsync(PemPair peer)
    {
        var directory = NewDirectory();
        Write(directory, peer, _authority);
        return await StartAsync(directory);
    }

    private async Task<LightpeerServer> StartAsync(string directory)
    {
        var options = Peers.Options();
        options.TlsDirectory = directory;
        return await _peers.StartAsync(options);
    }

    private string NewDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("lightpeer-tls-").FullName;
        _directories.Add(directory);
        return directory;
    }

    private static void Write(string directory, PemPair peer, PemPair authority)
    {
        File.WriteAllText(Path.Combine(directory, SidecarsNames.LightpeerCertificateKey), peer.CertificatePem);
        File.WriteAllText(Path.Combine(directory, SidecarsNames.LightpeerKeyKey), peer.KeyPem);
        File.WriteAllText(Path.Combine(directory, SidecarsNames.LightpeerCaKey), authority.CertificatePem);
    }

    private static PemPair Issue(PemPair authority, string name) =>
        CertificateIssuer.IssueServing(authority, [name], [], Now.AddMinutes(-5), TimeSpan.FromHours(1), clientAuthentication: true);

    private static PeerClients Clients(PemPair certificate, PemPair authority) =>
        new(TimeSpan.FromSeconds(5), new FixedTls(certificate, authority));

    private sealed class FixedTls(PemPair certificate, PemPair authority) : PeerTls
    {
        private readonly PeerTlsMaterial _material = new(certificate.Load(), [X509Certificate2.CreateFromPem(authority.CertificatePem)]);

        public override PeerTlsMaterial? Current => _material;
    }
}
