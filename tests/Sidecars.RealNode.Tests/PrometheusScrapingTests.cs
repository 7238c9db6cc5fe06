using System.Diagnostics;
using System.Net;
using k8s;
using Sidecars.Conventions;
using Xunit.Abstractions;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The lane's Prometheus (Debian's, tests/realnode/prometheus.sh) scrapes what deploy/ runs through the jobs of
/// deploy/prometheus/scrape-config.yaml, discovering as the service account of deploy/prometheus/rbac.yaml: every
/// webhook replica, every cluster-agent replica when deploy/ runs it, and each sidecar injected into a pod; and it
/// answers the operator queries of deploy/prometheus/rules.yaml, the ones the README gives.
/// </summary>
[Collection(RealNodeCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class PrometheusScrapingTests(RealNodeFixture fixture, ITestOutputHelper output)
{
    private const string ClusterAgentName = "sidecars-cluster-agent";
    private const string PrometheusAccount = "system:serviceaccount:monitoring:sidecars-prometheus";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);

    /// <summary>A pod watch to discover, then the lane's 5 s scrape interval.</summary>
    private static readonly TimeSpan ScrapeTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Two scrapes with admissions between them, then a rule evaluation.</summary>
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromMinutes(2);

    [RealNodeFact]
    public async Task Prometheus_scrapes_the_webhook_the_cluster_agent_and_each_injected_sidecar_and_answers_the_operator_queries()
    {
        using var prometheus = new LanePrometheus();

        // Discovery runs as a service account that may list and watch pods and nothing else.
        Assert.Equal("yes", await CanIAsync("watch", "pods"));
        Assert.Equal("no", await CanIAsync("list", "secrets"));
        Assert.Equal("no", await CanIAsync("get", "pods", "--subresource=log"));

        // Both sidecars, the pod-agent tokens-only: it serves the same metrics port as with an identity and starts
        // without a blessing, which is the cluster agent's to give and not what this test is about.
        var clusterAgent = await DeployedAsync(ClusterAgentName);
        output.WriteLine(clusterAgent ? "deploy/ runs the cluster agent" : "deploy/ runs no cluster agent here");
        var ns = await fixture.NewInjectedNamespaceAsync("scraped");
        var (pod, _) = await fixture.ApplyUntilReadyAsync(ns, "scraped", Manifests.BothSidecarsPod("scraped", "scraped", blessing: null), ReadyTimeout);
        var sidecars = pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []).Select(c => c.Name)
            .Where(n => n is SidecarsNames.PodAgentContainer or SidecarsNames.LightpeerContainer)
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal([SidecarsNames.LightpeerContainer, SidecarsNames.PodAgentContainer], sidecars);

        await AssertEachUpAsync(prometheus, $"up{{job=\"{LanePrometheus.InjectedJob}\",namespace=\"{ns}\",pod=\"scraped\"}}", "container", sidecars);
        Assert.Equal(sidecars.Count, (await prometheus.QueryAsync($"up{{job=\"{LanePrometheus.InjectedJob}\",namespace=\"{ns}\"}}")).Count);
        var webhooks = await RunningPodsAsync(SidecarsInstall.Webhook);
        Assert.NotEmpty(webhooks);
        await AssertEachUpAsync(prometheus, $"up{{job=\"{LanePrometheus.WebhookJob}\"}}", "pod", webhooks);
        if (clusterAgent)
        {
            var agents = await RunningPodsAsync(ClusterAgentName);
            Assert.NotEmpty(agents);
            await AssertEachUpAsync(prometheus, $"up{{job=\"{LanePrometheus.ClusterAgentJob}\"}}", "pod", agents);
        }

        // The operator queries, as shipped: admissions (server-side dry runs of another injected pod, a few seconds
        // apart) keep the webhook's counters moving until every query answers a number.
        var queries = LanePrometheus.OperatorQueries();
        Assert.Equal(3, queries.Count);
        var (rate, p99, missing) = (queries[0].Expr, queries[1].Expr, queries[2].Expr);
        var sinceAdmission = Stopwatch.StartNew();
        var answers = new Dictionary<string, IReadOnlyList<PromSample>>();
        await Eventually.HoldsAsync(
            async () =>
            {
                if (sinceAdmission.Elapsed > TimeSpan.FromSeconds(2))
                {
                    await fixture.Cluster.KubectlAsync(
                        ["create", "--dry-run=server", "-n", ns, "-f", "-"], Manifests.BothSidecarsPod("admission", "scraped", blessing: null));
                    sinceAdmission.Restart();
                }

                foreach (var query in queries)
                {
                    answers[query.Expr] = await prometheus.QueryAsync(query.Expr);
                }

                var ok = answers[rate].Count > 0 && answers[rate].All(s => s.Label("outcome").Length > 0 && double.IsFinite(s.Value))
                    && answers[rate].Any(s => s.Label("outcome") == "mutated" && s.Value > 0)
                    && answers[p99] is [{ Value: > 0 } latency] && double.IsFinite(latency.Value)
                    && answers[missing] is [{ Value: >= 0 } count] && double.IsFinite(count.Value);
                return (ok, Describe(answers));
            },
            "the three operator queries to answer numbers",
            QueryTimeout);
        output.WriteLine(Describe(answers));
        Assert.Contains(answers[rate], s => s.Label("outcome") == "mutated" && s.Value > 0);

        // Loaded as recording rules, they evaluate without error.
        await Eventually.HoldsAsync(
            async () =>
            {
                var health = await prometheus.RuleHealthAsync();
                return (health.Count == queries.Count && health.All(h => h.EndsWith(": ok", StringComparison.Ordinal)), string.Join("; ", health));
            },
            "the rules of deploy/prometheus/rules.yaml healthy",
            ScrapeTimeout);
    }

    private static string Describe(Dictionary<string, IReadOnlyList<PromSample>> answers) =>
        string.Join("\n", answers.Select(a => $"{a.Key} => [{string.Join("; ", a.Value)}]"));

    /// <summary>
    /// Waits until <paramref name="query"/> answers 1 for each expected value of <paramref name="label"/>. A pod that is
    /// terminating still runs and stays a target until it is gone, so other series may come and go beside them.
    /// </summary>
    private async Task AssertEachUpAsync(LanePrometheus prometheus, string query, string label, IReadOnlyList<string> expected)
    {
        IReadOnlyList<PromSample> samples = [];
        await Eventually.HoldsAsync(
            async () =>
            {
                samples = await prometheus.QueryAsync(query);
                return (expected.All(e => samples.Count(s => s.Label(label) == e) == 1 && samples.Single(s => s.Label(label) == e).Value == 1),
                    string.Join("; ", samples));
            },
            $"{query} == 1 for {label} {string.Join(", ", expected)}",
            ScrapeTimeout);
        output.WriteLine($"{query} => [{string.Join("; ", samples)}]");
    }

    private async Task<bool> DeployedAsync(string deployment)
    {
        try
        {
            await fixture.Cluster.Client.AppsV1.ReadNamespacedDeploymentAsync(deployment, SidecarsInstall.Namespace);
            return true;
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Names of the Running, not terminating, pods of one of deploy/'s components.</summary>
    private async Task<List<string>> RunningPodsAsync(string component)
    {
        var pods = await fixture.Cluster.Client.CoreV1.ListNamespacedPodAsync(
            SidecarsInstall.Namespace, labelSelector: "app.kubernetes.io/name=" + component);
        return [.. pods.Items.Where(p => p.Status?.Phase == "Running" && p.Metadata.DeletionTimestamp is null).Select(p => p.Metadata.Name)];
    }

    private async Task<string> CanIAsync(params string[] request)
    {
        var result = await fixture.Cluster.TryKubectlAsync(["auth", "can-i", .. request, "--all-namespaces", "--as", PrometheusAccount]);
        return result.Output.Trim();
    }
}
