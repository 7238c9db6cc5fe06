using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sidecars.Mutation;
using Sidecars.Conventions;
using Sidecars.Faults.Tests.ControlPlane;
using Sidecars.LocalCluster;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.Webhook;

/// <summary>
/// Scenario 4, webhook restarts: two replicas of the built webhook behind a Service (a loopback balancer), registered
/// with the deployed MutatingWebhookConfiguration (deploy/base/webhook-configuration.yaml, addressed by URL). A rolling
/// restart (SIGTERM one replica, start it again, wait until it serves, then the other) while pods are created in a
/// fail-closed namespace: no create fails and every pod carries its sidecars. Then both replicas down: a create in the
/// fail-closed namespace is refused naming the webhook, pods in a fail-open namespace are admitted without sidecars,
/// and once the webhook is back its repair loop reports each of them (metric and Event).
/// </summary>
[Collection(FaultsCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class WebhookRestartTests(ControlPlaneFixture fixture, ITestOutputHelper output) : IDisposable
{
    /// <summary>Set by the soak (soak.sh) to the full count.</summary>
    public const string CreatesVariable = "SIDECARS_FAULTS_WEBHOOK_CREATES";

    private const int Callers = 3;
    private const int MissedPods = 5;
    private const string FailClosedHook = "pods-opted-in.sidecars.io";
    private const string ReportedMetric = "sidecars_webhook_repair_pods_reported_total";
    private const string MissingMetric = "sidecars_webhook_repair_pods_missing";

    /// <summary>Creates at least this many pods, and keeps creating until the roll is over. Reduced for the suite; the soak makes 500.</summary>
    private static readonly int Creates = int.TryParse(Environment.GetEnvironmentVariable(CreatesVariable), out var n) && n > 0 ? n : 100;

    /// <summary>A Deployment's terminationGracePeriodSeconds: the replica must have drained and exited within it.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _directory = new();

    private enum Phase
    {
        BothUp,
        ADraining,
        AStarting,
        BDraining,
        BStarting,
        Rolled,
    }

    [Fact]
    public async Task A_rolling_restart_fails_no_create_and_an_outage_is_refused_or_reported()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8 + (Creates / 100)));
        var ct = timeout.Token;
        var own = await fixture.NewNamespaceAsync("sidecars-system", ct: ct);
        var closed = await fixture.NewNamespaceAsync("restart-closed", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled }, ct);
        var open = await fixture.NewNamespaceAsync("restart-open", ct: ct);
        var serving = fixture.ControlPlane.IssueServingCertificate("127.0.0.1");
        var certificate = _directory.File("tls.crt");
        var key = _directory.File("tls.key");
        await File.WriteAllTextAsync(certificate, serving.CertificatePem, ct);
        await File.WriteAllTextAsync(key, serving.PrivateKeyPem, ct);
        using var authority = X509Certificate2.CreateFromPem(fixture.ControlPlane.CaCertificatePem);
        var settings = new Dictionary<string, string>
        {
            ["Sidecars:Webhook:CertificateFile"] = certificate,
            ["Sidecars:Webhook:KeyFile"] = key,
            ["Sidecars:Webhook:ClientCertificateAuthorityFile"] = fixture.ControlPlane.CaCertificateFile,
            ["Sidecars:Webhook:ClientCertificateNames:0"] = LocalControlPlane.WebhookClientName,
            ["Sidecars:Webhook:Namespace"] = own,
            ["Sidecars:Kubernetes:KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
            ["Sidecars:Injection:AgentImage"] = "LOCALREGISTRY/sidecars/test-sidecar:1",
            ["Sidecars:Injection:Registry"] = "registry.test/team",
            ["Sidecars:Injection:ImagePullSecret"] = "regcred",
            ["Sidecars:Injection:ClusterAgentAddress"] = "http://127.0.0.1:1",
            ["Sidecars:Webhook:Repair:Enabled"] = "true",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Sidecars"] = "Information",
        };
        await using var a = new WebhookProcess("replica-a", authority, settings);
        await using var b = new WebhookProcess("replica-b", authority, settings);
        await Task.WhenAll(a.StartAsync(ct), b.StartAsync(ct));
        await using var service = new LoopbackBalancer([a.Port, b.Port]);
        var configuration = Configuration("sidecars-" + own, new Uri($"https://127.0.0.1:{service.Port}"), fixture.ControlPlane.CaCertificatePem);
        await fixture.Client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(configuration, cancellationToken: ct);
        using var alice = fixture.ControlPlane.CreateClient("alice");
        try
        {
            // The apiserver takes up a new configuration from its own watch: wait until it calls the webhook.
            var probe = 0;
            await Eventually.UntilAsync(async () => Injected(await alice.CoreV1.CreateNamespacedPodAsync(Pod($"probe-{probe++}"), closed, cancellationToken: ct)),
                "the apiserver calls the registered webhook", TimeSpan.FromMinutes(1), ct);
            for (var i = 0; i < probe; i++)
            {
                await alice.CoreV1.DeleteNamespacedPodAsync($"probe-{i}", closed, cancellationToken: ct);
            }

            // The rolling restart, while callers create pods in the fail-closed namespace.
            var phase = (int)Phase.BothUp;
            Phase Current() => (Phase)Volatile.Read(ref phase);
            void Enter(Phase to) => Volatile.Write(ref phase, (int)to);
            var failures = new ConcurrentQueue<string>();
            var created = new ConcurrentQueue<(string Name, Phase Phase)>();
            var next = -1;
            var roll = Stopwatch.StartNew();
            var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
            {
                for (var i = Interlocked.Increment(ref next); i < Creates || Current() != Phase.Rolled; i = Interlocked.Increment(ref next))
                {
                    var during = Current();
                    var name = string.Create(CultureInfo.InvariantCulture, $"pod-{i}");
                    try
                    {
                        await alice.CoreV1.CreateNamespacedPodAsync(Pod(name), closed, cancellationToken: ct);
                        created.Enqueue((name, during));
                    }
                    catch (HttpOperationException e)
                    {
                        failures.Enqueue($"{name} during {during}: {(int)e.Response.StatusCode} {e.Response.Content}");
                    }
                }
            }, ct)).ToArray();

            var steps = new List<string>();
            foreach (var (replica, draining, starting) in new[] { (a, Phase.ADraining, Phase.AStarting), (b, Phase.BDraining, Phase.BStarting) })
            {
                // Some creates go through both replicas before each step, so that the apiserver holds connections to the replica that stops.
                await Eventually.UntilAsync(() => created.Count(c => c.Phase == Current()) >= 10, $"creates before {draining}", TimeSpan.FromMinutes(1), ct);
                Enter(draining);
                service.SetReady(replica.Port, false);
                var stopping = Stopwatch.StartNew();
                var exitCode = await replica.TerminateAsync(Grace);
                var stopped = stopping.Elapsed;
                Assert.True(exitCode == 0, $"{replica.Name} exited with {exitCode} after SIGTERM:\n{replica.Log}");
                Enter(starting);
                var starting2 = Stopwatch.StartNew();
                await replica.StartAsync(ct);
                service.SetReady(replica.Port, true);
                steps.Add($"{replica.Name} SIGTERM to exit {stopped.TotalSeconds:0.0} s, start to ready {starting2.Elapsed.TotalSeconds:0.0} s");
            }

            await Eventually.UntilAsync(() => created.Count(c => c.Phase == Phase.BStarting) >= 10 || !failures.IsEmpty, "creates after the roll", TimeSpan.FromMinutes(1), ct);
            Enter(Phase.Rolled);
            await Task.WhenAll(callers);
            var rolled = roll.Elapsed;

            var pods = (await alice.CoreV1.ListNamespacedPodAsync(closed, cancellationToken: ct)).Items.Where(p => p.Metadata.Name.StartsWith("pod-", StringComparison.Ordinal)).ToList();
            var bare = pods.Where(p => !Injected(p)).Select(p => p.Metadata.Name).ToList();
            var byPhase = string.Join(", ", created.GroupBy(c => c.Phase).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"));
            output.WriteLine($"webhook rolled: {created.Count + failures.Count} creates, {failures.Count} failed, {bare.Count} without sidecars in {rolled.TotalSeconds:0.0} s ({byPhase}); " +
                string.Join("; ", steps) + $"; connections through the service to replica-a {service.Accepted(a.Port)}, replica-b {service.Accepted(b.Port)}, refused {service.Refused}");
            Assert.True(failures.IsEmpty, $"{failures.Count} creates failed during the rolling restart:\n{string.Join('\n', failures.Take(10))}\n{a.Log}\n{b.Log}");
            Assert.Equal(created.Count, pods.Count);
            Assert.True(bare.Count == 0, $"{bare.Count} pods admitted without their sidecars: {string.Join(", ", bare.Take(10))}");
            foreach (var during in new[] { Phase.ADraining, Phase.AStarting, Phase.BDraining, Phase.BStarting })
            {
                Assert.True(created.Any(c => c.Phase == during), $"no create was made while {during}: the creates did not overlap the roll");
            }

            // The webhook fully down.
            Assert.Equal(0, await a.TerminateAsync(Grace));
            Assert.Equal(0, await b.TerminateAsync(Grace));
            var refused = await Assert.ThrowsAsync<HttpOperationException>(() => alice.CoreV1.CreateNamespacedPodAsync(Pod("while-down"), closed, cancellationToken: ct));
            var reason = KubernetesJson.Deserialize<V1Status>(refused.Response.Content).Message;
            Assert.Contains($"failed calling webhook \"{FailClosedHook}\"", reason, StringComparison.Ordinal);

            var missed = new List<string>();
            for (var i = 0; i < MissedPods; i++)
            {
                var pod = await alice.CoreV1.CreateNamespacedPodAsync(Pod($"missed-{i}", optIn: true), open, cancellationToken: ct);
                Assert.False(Injected(pod), $"{pod.Metadata.Name} was injected while the webhook was down");
                missed.Add(pod.Metadata.Name);
            }

            // Back: the elected replica's repair loop reports every pod admitted while it was down.
            var back = Stopwatch.StartNew();
            await Task.WhenAll(a.StartAsync(ct), b.StartAsync(ct));
            var ready = back.Elapsed;
            Corev1EventList events = new() { Items = [] };
            await Eventually.UntilAsync(async () =>
            {
                events = await fixture.Client.CoreV1.ListNamespacedEventAsync(open, fieldSelector: "reason=SidecarsMissing", cancellationToken: ct);
                return missed.All(m => events.Items.Any(e => e.InvolvedObject.Name == m))
                    && await MaxAsync([a, b], ReportedMetric, ct) >= MissedPods;
            }, "a SidecarsMissing Event and the metric for every pod admitted while the webhook was down", TimeSpan.FromMinutes(2), ct);
            var reported = back.Elapsed;

            foreach (var name in missed)
            {
                var evt = Assert.Single(events.Items, e => e.InvolvedObject.Name == name);
                Assert.Contains("pod-agent", evt.Message, StringComparison.Ordinal);
            }

            Assert.True(await MaxAsync([a, b], MissingMetric, ct) >= MissedPods, $"{MissingMetric} is below {MissedPods}");
            output.WriteLine($"webhook down: create in fail-closed namespace refused ({reason}); {MissedPods} pods admitted fail-open, " +
                $"reported (metric + event) {reported.TotalSeconds:0.0} s after the replicas were started ({ready.TotalSeconds:0.0} s to ready)");
        }
        finally
        {
            await fixture.Client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(configuration.Metadata.Name, cancellationToken: CancellationToken.None);
            await fixture.Client.CoreV1.DeleteCollectionNamespacedPodAsync(closed, cancellationToken: CancellationToken.None);
            await fixture.Client.CoreV1.DeleteCollectionNamespacedPodAsync(open, cancellationToken: CancellationToken.None);
        }
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>The deployed configuration (deploy/base/webhook-configuration.yaml), addressed by URL instead of the Service.</summary>
    private static V1MutatingWebhookConfiguration Configuration(string name, Uri service, string caBundlePem)
    {
        var root = ControlPlaneFixture.FindRepositoryRoot()!;
        var configuration = KubernetesObjects.ReadOne<V1MutatingWebhookConfiguration>(File.ReadAllText(Path.Combine(root, "deploy", "base", "webhook-configuration.yaml")));
        configuration.Metadata.Name = name;
        foreach (var hook in configuration.Webhooks)
        {
            hook.ClientConfig = new Admissionregistrationv1WebhookClientConfig
            {
                Url = new Uri(service, "/mutate").ToString(),
                CaBundle = Encoding.UTF8.GetBytes(caBundlePem),
            };
        }

        Assert.Contains(configuration.Webhooks, h => h.Name == FailClosedHook && h.FailurePolicy == "Fail");
        return configuration;
    }

    /// <summary>A pod that asks for a blessing (so the pod agent is injected) and is never scheduled (no kubelet work).</summary>
    private static V1Pod Pod(string name, bool optIn = false) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Annotations = optIn
                ? new Dictionary<string, string> { [SidecarsAnnotations.Blessing] = "restart", [SidecarsAnnotations.Inject] = "true" }
                : new Dictionary<string, string> { [SidecarsAnnotations.Blessing] = "restart" },
        },
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "app", Image = "LOCALREGISTRY/app:1" }],
            NodeSelector = new Dictionary<string, string> { ["fault.sidecars.io/never"] = "scheduled" },
        },
    };

    private static bool Injected(V1Pod pod) =>
        pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []).Any(c => c.Name == SidecarsNames.PodAgentContainer)
        && pod.Metadata.Labels?.ContainsKey(SidecarsLabels.Owner) == true;

    private static async Task<double> MaxAsync(IEnumerable<WebhookProcess> replicas, string metric, CancellationToken ct)
    {
        var values = await Task.WhenAll(replicas.Select(r => r.MetricAsync(metric, ct)));
        return values.Max() ?? 0;
    }
}
