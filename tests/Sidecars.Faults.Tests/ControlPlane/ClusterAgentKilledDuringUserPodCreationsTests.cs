using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Identity.Admin;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Http;
using Sidecars.Testing.Identity;
using Sidecars.Testing.UserPods;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Pods;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>
/// Scenario 2, user pods: the cluster agent process killed (SIGKILL) while callers create user pods (pod, Service,
/// Ingress, the user's storage; the token Secret once Ready) over the user-pods gRPC API, then started again. Every
/// create carries a request_id; a caller whose create was cut sends the same create again: every pod a caller holds
/// is whole and runs, no request has two pods, and once the create timeout has passed nothing the cut creates made
/// remains.
/// </summary>
[Collection(FaultsCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ClusterAgentKilledDuringUserPodCreationsTests(ControlPlaneFixture fixture, ITestOutputHelper output) : IDisposable
{
    /// <summary>Creates in all (suite 20; the soak sets 100).</summary>
    public const string CountVariable = "SIDECARS_FAULTS_USER_POD_CREATES";

    private const string Token = "tok-fault-2";
    private const string ManifestPath = "/manifests/notebook.yaml";
    private static readonly (string User, string Key)[] Callers =
    [
        ("alice@example.org", "alice-key-0123456789"),
        ("bob@example.org", "bob-key-0123456789abc"),
        ("carol@example.org", "carol-key-0123456789ab"),
    ];

    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Creates_cut_by_sigkill_get_their_true_answer_and_nothing_half_created_outlives_the_create_timeout()
    {
        var count = Count();
        // Long enough for every pod to start on a loaded 2-core machine (each runs a pod-agent process).
        var createTimeout = TimeSpan.FromSeconds(Math.Max(60, 1.5 * count));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4) + 3 * createTimeout);
        var ct = timeout.Token;
        Assert.True(fixture.AgentPath is not null, "the agent is not built (agent/bin/**/sidecars-agent): the simulated kubelet cannot run the pods");
        fixture.ControlPlane.Kubelet.AddRunner(new TokenAppRunner(fixture.AgentPath, TokenAppRunner.Pki.CaFile));
        var ns = await fixture.NewNamespaceAsync("fault-user-pods", ct: ct);
        var kube = fixture.Client;
        await using var manifests = await LoopbackHttpServer.StartAsync();
        manifests.Files[ManifestPath] = UserPodManifests.TokenPod(Token, storage: true);
        using var pki = new TestPki(_directory.File("pki"));
        await using var agent = new ClusterAgentProcess(pki, _directory.File("agent"), Settings(fixture.ControlPlane.KubeconfigPath, ns, createTimeout, manifests.Address.Port));
        try
        {
            await agent.StartAsync(ct);
            using var channel = AdminCredentials.CreateChannel(agent.Address, null, pki.ServerRoots);
            var clients = Callers.ToDictionary(c => c.User, c => Client(channel, c.Key));
            var request = (string user, int i) => new CreatePodRequest
            {
                YamlUrl = manifests.Url(ManifestPath),
                UserId = user,
                RequestId = string.Create(CultureInfo.InvariantCulture, $"create-{i}"),
            };

            // Callers create one pod at a time each; the process is killed once half of the creates are answered.
            var answered = 0;
            var half = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var cut = new ConcurrentBag<Cut>();
            var callers = Callers.Select((c, i) => Task.Run(() => CallerAsync(c.User, clients[c.User], count / Callers.Length + (i < count % Callers.Length ? 1 : 0)), ct)).ToList();

            await Task.WhenAny(half.Task, Task.WhenAll(callers)).WaitAsync(TimeSpan.FromMinutes(2), ct);
            if (!half.Task.IsCompleted)
            {
                await Task.WhenAll(callers);
                Assert.Fail("the callers finished before half of the creates were answered");
            }

            var killedAt = DateTimeOffset.UtcNow;
            var killedTimestamp = Stopwatch.GetTimestamp();
            killed.SetResult();
            await agent.KillAsync();
            await agent.StartAsync(ct);
            var held = (await Task.WhenAll(callers)).ToDictionary(h => h.User, h => h.Pods);

            Assert.NotEmpty(cut);
            var recovery = Stopwatch.GetElapsedTime(killedTimestamp, cut.Max(c => c.AnsweredAt));
            output.WriteLine(
                $"{count} creates from {Callers.Length} callers, {cut.Count} cut by the kill ({string.Join(", ", cut.GroupBy(c => c.Status).Select(g => $"{g.Count()} {g.Key}"))}): " +
                $"repeated with their request_id: {Repeats(agent.Log, creating: false)} answered with the whole pod the cut call made, " +
                $"{Repeats(agent.Log, creating: true)} finished the pod it had begun, the rest created it");
            output.WriteLine($"from SIGKILL to every repeated create answered: {recovery.TotalSeconds:0.0} s");

            // Every pod a caller holds is its own, listed once, Ready and whole: Service, Ingress, token Secret.
            Assert.All(held, h => Assert.Equal(h.Value.Count, h.Value.Distinct().Count()));
            Assert.Equal(count, held.Values.Sum(p => p.Count));
            await Task.WhenAll(held.SelectMany(h => h.Value.Select(async pod =>
                Assert.True((await clients[h.Key].WatchCreatePodAsync(new WatchCreatePodRequest { UserId = h.Key, PodName = pod }, cancellationToken: ct)).Ready, $"{pod} never became Ready"))));
            foreach (var (user, pods) in held)
            {
                await Eventually.HoldsAsync(
                    async () =>
                    {
                        var listed = (await clients[user].GetPodsAsync(new GetPodsRequest { UserId = user }, cancellationToken: ct)).Pods;
                        var ok = listed.Select(p => p.PodName).Order().SequenceEqual(pods.Order())
                                 && listed.All(p => p.Status == "Ready" && p.Tokens.GetValueOrDefault("token") == Token);
                        return (ok, string.Join(", ", listed.Select(p => $"{p.PodName} {p.Status} [{string.Join(",", p.Tokens.Keys)}]")));
                    },
                    $"get_pods of {user} to list exactly its {pods.Count} pods, Ready with their token", TimeSpan.FromMinutes(1), ct);
            }

            var all = held.Values.SelectMany(p => p).ToHashSet(StringComparer.Ordinal);
            foreach (var name in all)
            {
                var pod = await kube.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: ct);
                Assert.Equal("Running", pod.Status.Phase);
                Assert.False(pod.Metadata.Annotations.ContainsKey(UserPodKeys.Creating), $"{name} is held by its caller but still marked unfinished");
                var uid = pod.Metadata.Uid;
                AssertOwnedBy(uid, name, "Service", await FindAsync(() => kube.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: ct)));
                AssertOwnedBy(uid, name, "Ingress", await FindAsync(() => kube.NetworkingV1.ReadNamespacedIngressAsync(name, ns, cancellationToken: ct)));
                AssertOwnedBy(uid, name, "token Secret", await FindAsync(() => kube.CoreV1.ReadNamespacedSecretAsync(UserPodKeys.TokenSecretName(name), ns, cancellationToken: ct)));
            }

            // What the cut creates left: only pods never finished (nobody was told of them, get_pods hides them).
            var leftovers = (await kube.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: ct)).Items.Where(p => !all.Contains(p.Metadata.Name)).ToList();
            Assert.All(leftovers, p => Assert.True(p.Metadata.Annotations?.ContainsKey(UserPodKeys.Creating) == true, $"{p.Metadata.Name} is whole but no caller holds it"));
            output.WriteLine($"half-created pods left by the kill: {leftovers.Count}");

            // Once the create timeout has passed nothing remains but what the callers hold, and each user's storage.
            var bound = killedAt + createTimeout + TimeSpan.FromMinutes(1) - DateTimeOffset.UtcNow;
            await Eventually.HoldsAsync(
                async () =>
                {
                    var seen = await ObjectsAsync(kube, ns, ct);
                    var ok = seen.Pods.SetEquals(all) && seen.Services.SetEquals(all) && seen.Ingresses.SetEquals(all)
                             && seen.TokenSecrets.SetEquals(all) && seen.Deployments.Count == 0
                             && seen.Claims.SetEquals(Callers.Select(c => OwnerNames.ClaimName(new UserPodsOptions().StorageClaimTemplate, "{user}", c.User)))
                             && seen.Volumes.SetEquals(seen.Claims.Select(c => ns + "-" + c));
                    return (ok, seen.ToString());
                },
                "no orphaned Deployment, Service, Ingress, token Secret or storage: only the held pods' objects and one claim and volume per user",
                bound > TimeSpan.Zero ? bound : TimeSpan.FromSeconds(1), ct);
            output.WriteLine($"{all.Count} pods held; nothing left of the cut creates {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:0} s after the kill (create timeout {createTimeout.TotalSeconds:0} s)");

            async Task<(string User, List<string> Pods)> CallerAsync(string user, Contracts.V1.UserPods.UserPodsClient client, int creates)
            {
                var pods = new List<string>();
                for (var i = 0; i < creates; i++)
                {
                    try
                    {
                        pods.Add((await client.CreatePodAsync(request(user, i), cancellationToken: ct)).PodName);
                        if (Interlocked.Increment(ref answered) == count / 2)
                        {
                            half.TrySetResult();
                        }

                        continue;
                    }
                    catch (RpcException e) when (killed.Task.IsCompleted)
                    {
                        // Cut by the kill (in flight, or sent while the process was down): the answer is lost, so
                        // the same create again, with the same request_id.
                        var status = e.StatusCode;
                        var pod = await RepeatAsync(async () => (await client.CreatePodAsync(request(user, i), cancellationToken: ct)).PodName, ct);
                        pods.Add(pod);
                        cut.Add(new Cut(status.ToString(), Stopwatch.GetTimestamp()));
                    }
                }

                return (user, pods);
            }
        }
        catch
        {
            output.WriteLine($"cluster agent (process {agent.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "not running"}), last lines of its log:");
            output.WriteLine(string.Join('\n', agent.Log.Split('\n').TakeLast(80)));
            throw;
        }
        finally
        {
            await agent.KillAsync();
            await CleanUpAsync(kube, ns);
        }
    }

    public void Dispose() => _directory.Dispose();

    private static int Count()
    {
        var configured = Environment.GetEnvironmentVariable(CountVariable);
        return string.IsNullOrEmpty(configured) ? 20
            : int.TryParse(configured, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 2 * Callers.Length ? n
            : throw new InvalidOperationException($"{CountVariable}='{configured}': expected a whole number of at least {2 * Callers.Length}");
    }

    private static Dictionary<string, string> Settings(string kubeconfig, string ns, TimeSpan createTimeout, int manifestPort)
    {
        var settings = new Dictionary<string, string>
        {
            ["Sidecars__Kubernetes__KubeconfigPath"] = kubeconfig,
            ["Sidecars__Identity__Store"] = "File",
            ["Sidecars__Clusters__Namespace"] = ns,
            ["Sidecars__Networks__Namespace"] = ns,
            ["Sidecars__Leadership__Namespace"] = ns,
            // Only the lifecycle (the reaping at the create deadline) needs the lease. A replica that cannot renew it
            // steps down and exits for its pod to be restarted, which this harness does not do: with 100 pods starting
            // beside it, renewals timed out for 25 s and the restarted process stopped, and the next call found nobody.
            // So the renew deadline is generous, and the process keeps one name, so that the restarted one (the same
            // replica after its kill) renews the Lease at once instead of waiting for it to expire.
            ["Sidecars__Leadership__Identity"] = "fault-user-pods-agent",
            ["Sidecars__Leadership__LeaseDuration"] = "00:05:00",
            ["Sidecars__Leadership__RenewDeadline"] = "00:04:00",
            ["Sidecars__Leadership__RetryPeriod"] = "00:00:01",
            ["Sidecars__UserPods__Namespace"] = ns,
            ["Sidecars__UserPods__CreateTimeout"] = createTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Sidecars__UserPods__DeleteTimeout"] = "00:01:00",
            ["Sidecars__UserPods__ManifestWhitelist"] = $@"http://127\.0\.0\.1:{manifestPort}/manifests/[a-z-]+\.yaml",
            // The manifests are served by this test process, beside the kubelet running 100 pods in the soak: one fetch
            // took more than the default 10 s there, failing a create before any kill.
            ["Sidecars__UserPods__ManifestFetchTimeout"] = "00:01:00",
            ["Sidecars__UserPods__IngressDomain"] = "pods.test.local",
            ["Sidecars__UserPods__NfsStorageRoot"] = "/srv/users",
            ["Sidecars__UserPods__StorageCapacity"] = "1Gi",
            ["Sidecars__UserPods__TokenFetchTimeout"] = "00:00:10",
            ["Sidecars__UserPods__TokenClientCertificateFile"] = TokenAppRunner.Pki.Reader.Certificate,
            ["Sidecars__UserPods__TokenClientKeyFile"] = TokenAppRunner.Pki.Reader.Key,
        };
        for (var i = 0; i < Callers.Length; i++)
        {
            settings[$"Sidecars__UserPods__Callers__{i}__Key"] = Callers[i].Key;
            settings[$"Sidecars__UserPods__Callers__{i}__UserId"] = Callers[i].User;
        }

        return settings;
    }

    private static Contracts.V1.UserPods.UserPodsClient Client(Grpc.Net.Client.GrpcChannel channel, string key) =>
        new(channel.Intercept(metadata =>
        {
            metadata.Add("authorization", "Bearer " + key);
            return metadata;
        }));

    /// <summary>A call repeated while the restarted agent is not listening yet.</summary>
    private static async Task<T> RepeatAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
        }
    }

    private static void AssertOwnedBy(string uid, string pod, string kind, IMetadata<V1ObjectMeta>? found)
    {
        Assert.True(found is not null, $"{pod} is held by its caller but has no {kind}");
        Assert.Equal(uid, Assert.Single(found.Metadata.OwnerReferences).Uid);
    }

    private static async Task<T?> FindAsync<T>(Func<Task<T>> read)
        where T : class
    {
        try
        {
            return await read();
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The objects of the namespace the user-pods API makes, by name (token Secrets by their pod's name).</summary>
    private static async Task<Objects> ObjectsAsync(IKubernetes kube, string ns, CancellationToken ct)
    {
        const string managed = SidecarsLabels.ManagedBy + "=" + SidecarsLabels.ManagedByValue;
        static HashSet<string> Names(IEnumerable<string> names) => names.ToHashSet(StringComparer.Ordinal);
        return new Objects(
            Names((await kube.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: ct)).Items.Select(p => p.Metadata.Name)),
            Names((await kube.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: managed, cancellationToken: ct)).Items.Select(s => s.Metadata.Name)),
            Names((await kube.NetworkingV1.ListNamespacedIngressAsync(ns, labelSelector: managed, cancellationToken: ct)).Items.Select(i => i.Metadata.Name)),
            Names((await kube.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: UserPodKeys.TokensFor, cancellationToken: ct)).Items.Select(s => s.Metadata.Labels[UserPodKeys.TokensFor])),
            Names((await kube.AppsV1.ListNamespacedDeploymentAsync(ns, cancellationToken: ct)).Items.Select(d => d.Metadata.Name)),
            Names((await kube.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns, labelSelector: managed, cancellationToken: ct)).Items.Select(c => c.Metadata.Name)),
            Names((await kube.CoreV1.ListPersistentVolumeAsync(labelSelector: managed, cancellationToken: ct)).Items.Where(v => v.Spec.ClaimRef?.NamespaceProperty == ns).Select(v => v.Metadata.Name)));
    }

    /// <summary>Deletes the namespace (its pods stop) and the user volumes, which are cluster-wide.</summary>
    private static async Task CleanUpAsync(IKubernetes kube, string ns)
    {
        foreach (var volume in (await kube.CoreV1.ListPersistentVolumeAsync()).Items.Where(v => v.Spec.ClaimRef?.NamespaceProperty == ns))
        {
            await kube.CoreV1.DeletePersistentVolumeAsync(volume.Metadata.Name);
        }

        await kube.CoreV1.DeleteNamespaceAsync(ns);
    }

    /// <summary>A create whose answer the kill took: the status the caller saw, and when its repeat was answered.</summary>
    private sealed record Cut(string Status, long AnsweredAt);

    /// <summary>Repeated creates the cluster agent answered with the pod of an earlier one, still being made or whole.</summary>
    private static int Repeats(string log, bool creating) =>
        log.Split('\n').Count(l => l.Contains("Create repeated with the request_id", StringComparison.Ordinal)
            && l.Contains(creating ? "(still being made: True)" : "(still being made: False)", StringComparison.Ordinal));

    private sealed record Objects(
        HashSet<string> Pods, HashSet<string> Services, HashSet<string> Ingresses, HashSet<string> TokenSecrets,
        HashSet<string> Deployments, HashSet<string> Claims, HashSet<string> Volumes)
    {
        public override string ToString() =>
            $"pods [{string.Join(", ", Pods.Order())}], services [{string.Join(", ", Services.Order())}], ingresses [{string.Join(", ", Ingresses.Order())}], " +
            $"token secrets for [{string.Join(", ", TokenSecrets.Order())}], deployments [{string.Join(", ", Deployments.Order())}], " +
            $"claims [{string.Join(", ", Claims.Order())}], volumes [{string.Join(", ", Volumes.Order())}]";
    }
}
