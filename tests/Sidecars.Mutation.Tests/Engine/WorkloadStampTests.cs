using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Mutation.Tests;

public sealed class WorkloadStampTests
{
    private const string Deployment = """
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
         "spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"x"}]}}}}
        """;

    private static readonly MutationEngine Engine = new(Requests.Options());

    private static string? Stamp(AdmissionInput input, AdmissionDecision decision, params string[] path)
    {
        JsonNode? node = Requests.Apply(input, decision);
        foreach (var member in path)
        {
            node = node?[member];
        }

        return node?["metadata"]?["annotations"]?[SidecarsAnnotations.CreatedBy]?.GetValue<string>();
    }

    [Fact]
    public void Create_stamps_the_requesting_user_into_the_template()
    {
        var input = Requests.Workload("apps", "v1", "Deployment", Deployment, user: "alice");
        var decision = Engine.Decide(input);

        Assert.Equal(AdmissionOutcome.Mutated, decision.Outcome);
        Assert.Equal("alice", Stamp(input, decision, "spec", "template"));
        Assert.Equal(1, decision.Rewrites["stamp"]);
        var op = Assert.Single(decision.Patch);
        Assert.Equal("/spec/template/metadata/annotations", op.Path);
    }

    [Fact]
    public void Create_overwrites_a_forged_stamp()
    {
        var forged = Deployment.Replace("\"labels\":{\"app\":\"web\"}", "\"labels\":{\"app\":\"web\"},\"annotations\":{\"sidecars.io/created-by\":\"root\"}", StringComparison.Ordinal);
        var input = Requests.Workload("apps", "v1", "Deployment", forged, user: "mallory");
        var decision = Engine.Decide(input);

        Assert.Equal("mallory", Stamp(input, decision, "spec", "template"));
        Assert.Equal("replace", Assert.Single(decision.Patch).Op);
        Assert.Equal("/spec/template/metadata/annotations/sidecars.io~1created-by", decision.Patch[0].Path);
        Assert.Contains(decision.Reasons, r => r.Code == "stamp-overwritten");
    }

    [Fact]
    public void Update_keeps_the_stored_stamp()
    {
        var stamped = Deployment.Replace("\"labels\":{\"app\":\"web\"}", "\"labels\":{\"app\":\"web\"},\"annotations\":{\"sidecars.io/created-by\":\"alice\"}", StringComparison.Ordinal);
        var forged = stamped.Replace("\"sidecars.io/created-by\":\"alice\"", "\"sidecars.io/created-by\":\"bob\"", StringComparison.Ordinal);

        var keep = Engine.Decide(Requests.Workload("apps", "v1", "Deployment", stamped, user: "bob", operation: "UPDATE", oldJson: stamped));
        Assert.Equal(AdmissionOutcome.Unchanged, keep.Outcome);
        Assert.Empty(keep.Patch);

        var input = Requests.Workload("apps", "v1", "Deployment", forged, user: "bob", operation: "UPDATE", oldJson: stamped);
        var restore = Engine.Decide(input);
        Assert.Equal("alice", Stamp(input, restore, "spec", "template"));

        var unstampedOld = Requests.Workload("apps", "v1", "Deployment", Deployment, user: "bob", operation: "UPDATE", oldJson: Deployment);
        Assert.Equal("bob", Stamp(unstampedOld, Engine.Decide(unstampedOld), "spec", "template"));
    }

    [Fact]
    public void Trusted_controller_keeps_the_copied_stamp()
    {
        var replicaSet = Deployment.Replace("\"Deployment\"", "\"ReplicaSet\"", StringComparison.Ordinal)
            .Replace("\"labels\":{\"app\":\"web\"}", "\"labels\":{\"app\":\"web\"},\"annotations\":{\"sidecars.io/created-by\":\"alice\"}", StringComparison.Ordinal);
        var decision = Engine.Decide(Requests.Workload("apps", "v1", "ReplicaSet", replicaSet, user: "system:serviceaccount:kube-system:deployment-controller"));

        Assert.Equal(AdmissionOutcome.Unchanged, decision.Outcome);
        Assert.Contains(decision.Reasons, r => r.Code == "already-stamped");

        var unstamped = Engine.Decide(Requests.Workload("apps", "v1", "ReplicaSet", Deployment, user: "system:serviceaccount:kube-system:deployment-controller"));
        Assert.Equal(AdmissionOutcome.Unchanged, unstamped.Outcome);
        Assert.Contains(unstamped.Reasons, r => r.Code == "stamp-missing");
        Assert.NotEmpty(unstamped.Warnings);
    }

    [Theory]
    [InlineData("batch", "v1", "CronJob")]
    [InlineData("batch", "v1beta1", "CronJob")]
    public void CronJob_template_is_under_the_job_template(string group, string version, string kind)
    {
        const string cronJob = """
            {"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"nightly"},
             "spec":{"schedule":"0 1 * * *","jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x"}],"restartPolicy":"Never"}}}}}}
            """;
        var input = Requests.Workload(group, version, kind, cronJob, user: "carol");
        var decision = Engine.Decide(input);

        Assert.Equal("/spec/jobTemplate/spec/template/metadata", Assert.Single(decision.Patch).Path);
        Assert.Equal("carol", Stamp(input, decision, "spec", "jobTemplate", "spec", "template"));
    }

    [Theory]
    [InlineData("apps", "StatefulSet")]
    [InlineData("apps", "DaemonSet")]
    [InlineData("batch", "Job")]
    public void Other_workloads_are_stamped(string group, string kind)
    {
        var input = Requests.Workload(group, "v1", kind, Deployment, user: "dave");
        Assert.Equal("dave", Stamp(input, Engine.Decide(input), "spec", "template"));
    }

    [Fact]
    public void Excluded_namespace_workloads_are_skipped()
    {
        var decision = Engine.Decide(Requests.Workload("apps", "v1", "Deployment", Deployment, ns: "kube-system"));
        Assert.Equal(AdmissionOutcome.Skipped, decision.Outcome);
        Assert.Empty(decision.Patch);
    }

    [Fact]
    public void Pods_of_a_stamped_deployment_are_owned_by_the_person()
    {
        var input = Requests.Workload("apps", "v1", "Deployment", Deployment, user: "alice@example.org");
        var deployment = Requests.Apply(input, Engine.Decide(input));
        var template = deployment["spec"]!["template"]!;
        var pod = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = template["metadata"]!.DeepClone(), ["spec"] = template["spec"]!.DeepClone() };

        var podInput = Requests.Pod(pod.ToJsonString(), user: "system:serviceaccount:kube-system:replicaset-controller");
        var mutated = Requests.Apply(podInput, Engine.Decide(podInput));

        Assert.Equal("alice_example.org-pjsk34uhg7vja", mutated["metadata"]!["labels"]![SidecarsLabels.Owner]!.GetValue<string>());
        Assert.Equal("alice@example.org", mutated["metadata"]!["annotations"]![SidecarsAnnotations.Owner]!.GetValue<string>());
    }
}
