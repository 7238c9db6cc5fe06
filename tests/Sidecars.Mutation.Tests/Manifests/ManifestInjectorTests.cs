using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Mutation.Tests;

public sealed class ManifestInjectorTests
{
    private const string Manifest = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: fortuned
          namespace: team-a
        spec:
          replicas: 2
          selector:
            matchLabels: {application: fortuned}
          template:
            metadata:
              labels: {application: fortuned}
              annotations:
                sidecars.io/blessing: fortuned
            spec:
              containers:
              - name: fortuned
                image: LOCALREGISTRY/fortuned:latest
                args: ["--port", "2345"]
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: plain
          annotations:
            sidecars.io/inject: "false"
            note: "yes"
            count: "3"
        spec:
          containers:
          - name: c
            image: nginx:1.25
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: once}
        spec:
          template:
            metadata:
              annotations: {sidecars.io/blessing: batch}
            spec:
              restartPolicy: Never
              containers:
              - {name: work, image: "LOCALREGISTRY/worker:3"}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec:
          ports: [{port: 80}]
        """;

    private static ManifestInjector Injector(string user = "alice") =>
        new(Requests.Options(), new ManifestContext { UserName = user, NamespaceLabels = Requests.OptedIn });

    [Fact]
    public void Injects_the_pod_template_of_workloads_and_stamps_the_user()
    {
        var documents = Injector().Inject(Manifest);

        Assert.Equal(["Deployment", "Pod", "Job", "Service"], documents.Select(d => d.Kind));
        var template = documents[0].Mutated["spec"]!["template"]!;
        Assert.Equal("alice", template["metadata"]!["annotations"]![SidecarsAnnotations.CreatedBy]!.GetValue<string>());
        Assert.Equal("alice", template["metadata"]!["labels"]![SidecarsLabels.Owner]!.GetValue<string>());
        var containers = template["spec"]!["containers"]!.AsArray();
        Assert.Equal(SidecarsNames.PodAgentContainer, containers[0]!["name"]!.GetValue<string>());
        Assert.Equal("registry.example.org/team/fortuned:latest", containers[1]!["image"]!.GetValue<string>());
        Assert.Equal("system:serviceaccount:kube-system:replicaset-controller", documents[0].PodUser);

        Assert.Equal(AdmissionOutcome.Skipped, documents[1].Decision.Outcome);
        Assert.True(JsonNode.DeepEquals(documents[1].Original, documents[1].Mutated));

        var job = documents[2].Mutated["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray();
        Assert.Contains(job, a => a!.GetValue<string>() == "--exit-when-apps-done");
        Assert.Equal("team-a", documents[0].Namespace);
        Assert.Equal("default", documents[2].Namespace);

        Assert.Equal("unsupported-kind", documents[3].Decision.Reasons[0].Code);
    }

    [Fact]
    public void Injecting_the_output_again_changes_nothing()
    {
        var once = Injector().Inject(Manifest);
        var yaml = YamlJson.WriteDocuments(once.Select(d => d.Mutated));

        var twice = Injector().Inject(yaml);

        Assert.All(twice, d => Assert.NotEqual(AdmissionOutcome.Mutated, d.Decision.Outcome));
        Assert.All(twice, d => Assert.NotEqual(AdmissionOutcome.Mutated, d.PodDecision?.Outcome ?? AdmissionOutcome.Unchanged));
        Assert.Equal(yaml, YamlJson.WriteDocuments(twice.Select(d => d.Mutated)));
    }

    [Fact]
    public void Yaml_round_trip_keeps_strings_that_look_like_other_types()
    {
        var documents = YamlJson.ReadDocuments(Manifest);
        var yaml = YamlJson.WriteDocuments(documents);
        var again = YamlJson.ReadDocuments(yaml);

        Assert.Equal(documents.Count, again.Count);
        for (var i = 0; i < documents.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(documents[i], again[i]), yaml);
        }

        Assert.Contains("note: \"yes\"", yaml, StringComparison.Ordinal);
        Assert.Contains("count: \"3\"", yaml, StringComparison.Ordinal);
        Assert.Contains("replicas: 2", yaml, StringComparison.Ordinal);
        Assert.Equal(2, documents[0]["spec"]!["replicas"]!.GetValue<long>());
    }

    [Fact]
    public void Json_manifests_are_read_too()
    {
        var documents = Injector().Inject(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"web"}"""));
        Assert.Equal(AdmissionOutcome.Mutated, Assert.Single(documents).Decision.Outcome);
    }

    [Fact]
    public void Invalid_yaml_is_a_format_error()
    {
        Assert.Throws<FormatException>(() => YamlJson.ReadDocuments("a: [1, 2\nb: c"));
        Assert.Throws<FormatException>(() => YamlJson.ReadDocuments("{\"a\":"));
    }

    [Fact]
    public void Explain_lists_each_feature_with_its_reason()
    {
        var text = Explainer.Render(Injector().Inject(Manifest));

        Assert.Contains("Deployment team-a/fortuned as alice: MUTATED", text, StringComparison.Ordinal);
        Assert.Contains("+ pod-agent    injected: blessing fortuned", text, StringComparison.Ordinal);
        Assert.Contains("- lightpeer    not-requested: no klight.networkId label", text, StringComparison.Ordinal);
        Assert.Contains("Pod default/plain as alice: SKIPPED", text, StringComparison.Ordinal);
        Assert.Contains("- admission    opted-out", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_shows_added_lines_in_hunks()
    {
        var diff = LineDiff.Unified("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nb\nX\nc\nd\ne\nf\ng\nh\ni\nY\n");

        Assert.StartsWith("--- original\n+++ injected\n", diff, StringComparison.Ordinal);
        Assert.Contains("@@ -1,5 +1,6 @@\n a\n b\n+X\n c\n d\n e\n", diff, StringComparison.Ordinal);
        Assert.Contains("-j\n+Y\n", diff, StringComparison.Ordinal);
        Assert.Equal("", LineDiff.Unified("same\n", "same\n"));
    }
}
