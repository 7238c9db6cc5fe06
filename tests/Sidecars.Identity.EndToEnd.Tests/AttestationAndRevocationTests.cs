using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Blessings;
using Sidecars.Conventions;
using Sidecars.Testing;
using Xunit.Abstractions;
using PodAgentClient = Sidecars.Contracts.V1.PodAgent.PodAgentClient;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>
/// The attacks on replica identity, on the control plane: a replica's pod (holding the application's secret and its own
/// pod token, as the kubelet gave them) asks for a sibling's blessing; and signatures made before ForgetSecret are
/// checked after it.
/// </summary>
[Collection(IdentityCollection.Name)]
public sealed class AttestationAndRevocationTests(ControlPlaneFixture fixture, ITestOutputHelper output)
{
    /// <summary>The cluster agent's default blessing lifetime: the documented revocation bound.</summary>
    private static readonly TimeSpan RevocationBound = new IdentityOptions().BlessingLifetime;

    [Fact]
    public async Task A_pod_with_the_application_secret_gets_only_its_own_replica_blessing()
    {
        await using var scenario = await IdentityScenario.StartAsync(fixture, blessingLifetime: null);
        await scenario.CtlAsync("claim", "--blessing", "root");
        await scenario.AppStartAsync(replicas: 2);
        var pods = await scenario.ReadyPodsAsync(2);
        var (attacker, sibling) = (pods[0], pods[1]);

        // What a compromised replica can read: the application's secret and its own pod token.
        var secret = (await File.ReadAllTextAsync(scenario.VolumeFile(attacker, SidecarsNames.SecretVolume, SidecarsNames.SecretKey))).Trim();
        var token = (await File.ReadAllTextAsync(scenario.VolumeFile(attacker, SidecarsNames.PodTokenVolume, SidecarsNames.PodTokenKey))).Trim();
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(scenario.Agent.PlainAddress);
        var identity = new Contracts.V1.Identity.IdentityClient(channel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        SeekBlessingsRequest Seek(string replica, string podToken) => new()
        {
            Secret = secret,
            PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
            Replica = replica,
            PodToken = podToken,
        };

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await identity.SeekBlessingsAsync(Seek(sibling.Metadata.Name, token)));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains($"the caller is pod {scenario.Namespace}/{attacker.Metadata.Name}", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains($"not '{sibling.Metadata.Name}'", refused.Status.Detail, StringComparison.Ordinal);

        // Without a token, or with a token that is not bound to a pod for the cluster agent's audience, nothing is issued.
        var anonymous = await Assert.ThrowsAsync<RpcException>(async () => await identity.SeekBlessingsAsync(Seek(attacker.Metadata.Name, "")));
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        var account = await scenario.Client.CoreV1.ReadNamespacedServiceAccountAsync("default", scenario.Namespace);
        var legacy = await scenario.Client.CoreV1.ReadNamespacedSecretAsync(account.Secrets[0].Name, scenario.Namespace);
        var unbound = await Assert.ThrowsAsync<RpcException>(async () => await identity.SeekBlessingsAsync(
            Seek(attacker.Metadata.Name, System.Text.Encoding.UTF8.GetString(legacy.Data["token"]))));
        Assert.Equal(StatusCode.Unauthenticated, unbound.StatusCode);

        // Its own name with its own token is what its pod-agent asks for, and is granted.
        var own = await identity.SeekBlessingsAsync(Seek(attacker.Metadata.Name, token));
        Assert.Equal($"root:my-service:{attacker.Metadata.Name}", own.Blessing.Name);

        // Once the pod is deleted, its token no longer gets anything.
        await scenario.Client.CoreV1.DeleteNamespacedPodAsync(attacker.Metadata.Name, scenario.Namespace, gracePeriodSeconds: 0);
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await identity.SeekBlessingsAsync(Seek(attacker.Metadata.Name, token));
                return false;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                return true;
            }
        }, $"the token of the deleted pod {attacker.Metadata.Name} to be refused");
    }

    [Fact]
    public async Task After_ForgetSecret_no_agent_serves_and_old_signatures_stop_verifying_within_the_blessing_lifetime()
    {
        await using var scenario = await IdentityScenario.StartAsync(fixture, blessingLifetime: null);
        await scenario.CtlAsync("claim", "--blessing", "root");
        await scenario.AppStartAsync(replicas: 2);
        var pods = await scenario.ReadyPodsAsync(2);

        // Each replica signs; a peer verifies the chain against the root and the signature against the leaf.
        var data = RandomNumberGenerator.GetBytes(64);
        var signed = new List<(string Pod, PodAgentClient Client, byte[][] Chain, byte[] Signature)>();
        using var channels = new CompositeDisposable();
        X509Certificate2? root = null;
        foreach (var pod in pods)
        {
            var client = new PodAgentClient(channels.Add(scenario.SocketChannel(pod)));
            var blessing = await client.GetBlessingsAsync(new GetBlessingsRequest());
            root ??= X509CertificateLoader.LoadCertificate((await client.GetTrustRootsAsync(new GetTrustRootsRequest())).Certificates[0].ToByteArray());
            var signature = await client.SignAsync(new SignRequest { Data = ByteString.CopyFrom(data) });
            signed.Add((pod.Metadata.Name, client, [.. blessing.Chain.Select(c => c.ToByteArray())], signature.Signature.ToByteArray()));
        }

        var verifier = new BlessingVerifier([root!]);
        bool Verifies(byte[][] chain, byte[] signature)
        {
            if (!verifier.Verify(chain, DateTimeOffset.UtcNow).IsValid)
            {
                return false;
            }

            using var leaf = X509CertificateLoader.LoadCertificate(chain[0]);
            using var leafKey = leaf.GetECDsaPublicKey()!;
            return leafKey.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }

        Assert.All(signed, s => Assert.True(Verifies(s.Chain, s.Signature), $"{s.Pod}'s signature does not verify before ForgetSecret"));

        await scenario.AdminClient().ForgetSecretAsync(new ForgetSecretRequest { Secret = await scenario.ApplicationSecretAsync() });
        var acknowledged = Stopwatch.StartNew();

        // Within the bound, every agent refuses to sign and every old signature fails verification.
        async Task<bool> StillServesAsync(PodAgentClient client)
        {
            try
            {
                await client.SignAsync(new SignRequest { Data = ByteString.CopyFrom(data) }, deadline: DateTime.UtcNow.AddSeconds(2));
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }

        var agentsRefused = TimeSpan.Zero;
        var verificationFails = TimeSpan.Zero;
        var slack = TimeSpan.FromSeconds(5);
        await Eventually.UntilAsync(async () =>
        {
            if (agentsRefused == TimeSpan.Zero && !(await Task.WhenAll(signed.Select(s => StillServesAsync(s.Client)))).Any(serving => serving))
            {
                agentsRefused = acknowledged.Elapsed;
            }

            if (verificationFails == TimeSpan.Zero && signed.All(s => !Verifies(s.Chain, s.Signature)))
            {
                verificationFails = acknowledged.Elapsed;
            }

            return agentsRefused > TimeSpan.Zero && verificationFails > TimeSpan.Zero;
        }, "every agent to refuse and every old signature to fail verification", RevocationBound + slack + slack);

        output.WriteLine($"ForgetSecret acknowledged → every pod-agent refuses: {agentsRefused.TotalSeconds:0.0} s; " +
            $"old signatures fail verification: {verificationFails.TotalSeconds:0.0} s (bound {RevocationBound.TotalSeconds:0} s)");
        Assert.True(agentsRefused <= RevocationBound + slack, $"the agents still served {agentsRefused} after ForgetSecret");
        Assert.True(verificationFails <= RevocationBound + slack, $"old signatures still verified {verificationFails} after ForgetSecret");
    }
}
