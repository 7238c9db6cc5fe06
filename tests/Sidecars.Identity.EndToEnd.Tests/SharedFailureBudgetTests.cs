using System.Security.Cryptography;
using Grpc.Core;
using k8s;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Secrets;
using Sidecars.Identity.Service;
using Sidecars.Testing;
using Sidecars.Testing.Identity;
using static Sidecars.Testing.Identity.SeekRequests;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>Two cluster-agent replicas sharing the Kubernetes store also share each caller's SeekBlessings failure budget.</summary>
[Collection(IdentityCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class SharedFailureBudgetTests(ControlPlaneFixture fixture) : IDisposable
{
    private const int Burst = 5;
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task Failures_counted_by_either_replica_spend_one_budget_and_both_refuse_alike()
    {
        var ns = await fixture.NewNamespaceAsync("seek-budget");
        using var pki = new TestPki(_dir.File("pki"));
        await using var a = await StartReplicaAsync(pki, ns, "a");
        await using var b = await StartReplicaAsync(pki, ns, "b");
        await a.Admin().ClaimAsync(new ClaimRequest { Blessing = "root" });
        var secret = (await a.Admin().NewSecretAsync(new NewSecretRequest { Extension = "app" })).Secret;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal("root:app:web-0", (await b.Anonymous().SeekBlessingsAsync(Seek(secret, key, "web-0"))).Blessing.Name);

        // Wrong secrets, alternately to each replica, until one refuses the caller. With a budget per replica that
        // would take 2 × Burst failures; shared, Burst (one more if the budget refilled a token meanwhile: 1/s).
        var failures = 0;
        var replicas = new[] { a, b };
        StatusCode last;
        do
        {
            last = (await Assert.ThrowsAsync<RpcException>(() => replicas[failures % 2].Anonymous()
                .SeekBlessingsAsync(Seek(SecretCodec.NewSecret(), key, "web-0")).ResponseAsync)).StatusCode;
            if (last == StatusCode.PermissionDenied)
            {
                failures++;
            }
        }
        while (last == StatusCode.PermissionDenied && failures < 2 * Burst);

        Console.WriteLine($"refused after {failures} failures across two replicas (burst {Burst})");
        Assert.Equal(StatusCode.ResourceExhausted, last);
        Assert.InRange(failures, Burst, Burst + 2);

        // Both replicas now refuse the caller, even with the right secret, and say so alike.
        var refusals = await Task.WhenAll(replicas.Select(r => Assert.ThrowsAsync<RpcException>(() => r.Anonymous().SeekBlessingsAsync(Seek(secret, key, "web-0")).ResponseAsync)));
        Assert.All(refusals, e => Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode));
        Assert.Equal(refusals[0].Status.Detail, refusals[1].Status.Detail);

        // The budget is one ConfigMap entry for the caller's address, in the store's namespace.
        var budget = await fixture.Client.CoreV1.ReadNamespacedConfigMapAsync(KubernetesSeekFailureLimiter.ConfigMapName, ns);
        Assert.Equal(["127.0.0.1"], budget.Data.Keys);
    }

    public void Dispose() => _dir.Dispose();

    private Task<ClusterAgentHost> StartReplicaAsync(TestPki pki, string ns, string name) =>
        ClusterAgentHost.StartAsync(pki, _dir.File(name + ".json"), new Dictionary<string, string?>
        {
            ["Sidecars:Kubernetes:KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
            ["Sidecars:Identity:Store"] = "Kubernetes",
            ["Sidecars:Identity:Namespace"] = ns,
            ["Sidecars:Identity:FailureBurst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Sidecars:Identity:FailuresPerSecond"] = "1",
        });
}
