using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Identity.Admin;
using Sidecars.LocalCluster;
using Sidecars.Testing;
using Sidecars.Testing.Agent;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>
/// Scenario 3, the network controller's and the webhook's watches: kube-apiserver killed (SIGKILL) and restarted under
/// the cluster agent and the webhook process. A pod created the moment the apiserver is back joins its network, and the
/// webhook decides by namespace labels changed the moment it is back (one namespace opted in, one out): both watches
/// were taken up again, not left on the cache from before the outage.
/// </summary>
[Collection(FaultsCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ApiServerRestartWatchTests(ControlPlaneFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const string Network = "net-r";
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(5);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_pod_and_namespace_labels_changed_right_after_the_restart_are_seen()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var ct = timeout.Token;
        var client = fixture.Client;
        var ns = await fixture.NewNamespaceAsync("fault-watches", ct: ct);
        var optingIn = await fixture.NewNamespaceAsync("fault-opt-in", ct: ct);
        var optingOut = await fixture.NewNamespaceAsync(
            "fault-opt-out", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled }, ct);
        using var pki = new TestPki(_directory.File("pki"));
        await using var agent = new ClusterAgentProcess(pki, _directory.File("agent"), new Dictionary<string, string>
        {
            ["Sidecars__Kubernetes__KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
            ["Sidecars__Identity__Store"] = "File",
            ["Sidecars__Clusters__Namespace"] = ns,
            ["Sidecars__Networks__Namespace"] = ns,
            ["Sidecars__Networks__CaNamespace"] = ns,
            ["Sidecars__Networks__CallTimeout"] = "00:00:03",
            // The outage (the apiserver's own start, up to a minute on a loaded machine) must not cost the leader its Lease.
            ["Sidecars__Leadership__Namespace"] = ns,
            ["Sidecars__Leadership__LeaseDuration"] = "00:05:00",
            ["Sidecars__Leadership__RenewDeadline"] = "00:04:00",
            ["Sidecars__Leadership__RetryPeriod"] = "00:00:00.500",
        });
        var (certificate, key) = await WebhookProcess.WriteServingCertificateAsync(pki, _directory, ct);
        await using var webhook = new WebhookProcess("webhook", pki.ServerCa, new Dictionary<string, string>(WebhookProcess.TestSettings(certificate, key))
        {
            ["Sidecars:Webhook:Namespace"] = ns,
            ["Sidecars:Webhook:Repair:Enabled"] = "false",
            ["Sidecars:Kubernetes:KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
        });
        await webhook.StartAsync(ct);
        await agent.StartAsync(ct);
        using var channel = AdminCredentials.CreateChannel(agent.Address, pki.AdminClient, pki.ServerRoots);
        var networks = new Contracts.V1.Networks.NetworksClient(channel);

        await using var first = await NetworkFaults.StartPeerPodAsync(client, ns, Network, "peer-1", ct);
        await NetworkFaults.WaitForMembersAsync(networks, Network, ["peer-1"], agent, ct);
        Assert.False(await InjectsAsync(webhook, optingIn, ct), "a pod in a namespace without the label was injected");
        Assert.True(await InjectsAsync(webhook, optingOut, ct), "a pod in an opted-in namespace was not injected");

        var stopped = Stopwatch.StartNew();
        await fixture.RestartComponentAsync(LocalControlPlane.ApiServerComponent, kill: true, ct: ct);
        var down = stopped.Elapsed;

        // The moment the apiserver is back: a new pod of the network, the two namespaces' labels swapped.
        var back = Stopwatch.StartNew();
        await LabelNamespaceAsync(client, optingIn, SidecarsLabels.NamespaceInjectionEnabled, ct);
        await LabelNamespaceAsync(client, optingOut, null, ct);
        var labelled = back.Elapsed;
        await using var second = await NetworkFaults.StartPeerPodAsync(client, ns, Network, "peer-2", ct);

        var webhookSaw = TimeSpan.Zero;
        var seen = Task.Run(async () =>
        {
            await Eventually.UntilAsync(
                async () => await InjectsAsync(webhook, optingIn, ct) && !await InjectsAsync(webhook, optingOut, ct),
                "the webhook decides by the namespace labels changed after the restart", TimeSpan.FromMinutes(2), ct);
            webhookSaw = back.Elapsed;
        }, ct);
        await NetworkFaults.WaitForMembersAsync(networks, Network, ["peer-2", "peer-1"], agent, ct);
        var joined = back.Elapsed;
        await seen;
        Assert.Equal(1, second.Joins);
        Assert.True(webhook.Running, "the webhook process died:\n" + webhook.Log);

        output.WriteLine($"ApiServerKilledUnderNetworksAndWebhook: down {down.TotalSeconds:0.0} s; from the control plane back to " +
            $"the pod created after it joined {joined.TotalSeconds:0.0} s, to the webhook deciding by the labels changed after it " +
            $"{webhookSaw.TotalSeconds:0.0} s (labels written {labelled.TotalSeconds:0.0} s after it was back)");
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>Sets (or, with null, removes) the namespace's injection label; retried while the restarted apiserver refuses.</summary>
    private static Task LabelNamespaceAsync(IKubernetes client, string name, string? value, CancellationToken ct)
    {
        var patch = new V1Patch(
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { labels = new Dictionary<string, string?> { [SidecarsLabels.NamespaceInjection] = value } } }),
            V1Patch.PatchType.MergePatch);
        return Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    await client.CoreV1.PatchNamespaceAsync(patch, name, cancellationToken: ct);
                    return true;
                }
                catch (Exception e) when (e is HttpRequestException or IOException
                    || (e is k8s.Autorest.HttpOperationException h && (int)h.Response.StatusCode >= 500))
                {
                    return false;
                }
            },
            $"namespace {name} labelled", TimeSpan.FromMinutes(1), ct);
    }

    /// <summary>The built webhook as its own process, watching the control plane's namespaces; reviews are sent to it directly.</summary>

    /// <summary>Whether the webhook answers the review of a plain pod (no annotations) in <paramref name="ns"/> with a patch.</summary>
    private static async Task<bool> InjectsAsync(WebhookProcess webhook, string ns, CancellationToken ct)
    {
        var review = JsonNode.Parse(await File.ReadAllTextAsync(
            Path.Combine(ControlPlaneFixture.FindRepositoryRoot()!, "tests", "fixtures", "admission-reviews", "default_plain_create.json"), ct))!;
        review["request"]!["namespace"] = ns;
        review["request"]!["object"]!["metadata"]!["namespace"] = ns;
        using var content = new StringContent(review.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await webhook.Client.PostAsync("/mutate", content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"the webhook answered {(int)response.StatusCode}: {body}");
        var answer = JsonNode.Parse(body)!["response"]!;
        Assert.True(answer["allowed"]!.GetValue<bool>(), "the plain pod was refused: " + body);
        return answer["patch"] is not null;
    }
}
