using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Mutation.Tests;

/// <summary>The user-pods API creates pods for a person; only its identity may name that person.</summary>
public sealed class DelegateOwnerTests
{
    private const string Delegate = "system:serviceaccount:sidecars-system:sidecars-cluster-agent";

    private const string PodForCarol = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecars.io/user":"carol@example.org"}},
         "spec":{"containers":[{"name":"c","image":"busybox"}],
                 "volumes":[{"name":"sciencedata","emptyDir":{}}]}}
        """;

    [Fact]
    public void A_trusted_delegate_creates_the_pod_for_the_user_it_names()
    {
        var engine = new MutationEngine(Requests.Options());

        var decision = engine.Decide(Requests.Pod(PodForCarol, user: Delegate));

        var pod = Apply(PodForCarol, decision);
        Assert.Equal("carol_example.org-wonapaq3wlwsh", pod["metadata"]!["labels"]![SidecarsLabels.Owner]!.GetValue<string>());
        Assert.Equal("carol@example.org", pod["metadata"]!["annotations"]![SidecarsAnnotations.Owner]!.GetValue<string>());
        Assert.Equal("sciencedata-carol-example-org-wonapaq3wlwsh", pod["spec"]!["volumes"]![0]!["persistentVolumeClaim"]!["claimName"]!.GetValue<string>());
    }

    [Fact]
    public void Anyone_else_naming_a_user_is_ignored_and_owns_the_pod_themselves()
    {
        var engine = new MutationEngine(Requests.Options());

        var decision = engine.Decide(Requests.Pod(PodForCarol, user: "mallory"));

        var pod = Apply(PodForCarol, decision);
        Assert.Equal("mallory", pod["metadata"]!["labels"]![SidecarsLabels.Owner]!.GetValue<string>());
    }

    [Fact]
    public void Delegates_are_configurable_and_validated()
    {
        var engine = new MutationEngine(Requests.Options(o => o.TrustedDelegates = ["portal-bot"]));

        var fromOld = Apply(PodForCarol, engine.Decide(Requests.Pod(PodForCarol, user: Delegate)));
        var fromNew = Apply(PodForCarol, engine.Decide(Requests.Pod(PodForCarol, user: "portal-bot")));

        Assert.Equal("system_serviceaccount_sidecars-system_sidecars-cl-tmit363m3njnd", fromOld["metadata"]!["labels"]![SidecarsLabels.Owner]!.GetValue<string>());
        Assert.Equal("carol_example.org-wonapaq3wlwsh", fromNew["metadata"]!["labels"]![SidecarsLabels.Owner]!.GetValue<string>());
        var result = new InjectionOptionsValidator().Validate(null, Requests.Options(o => o.TrustedDelegates = [" "]));
        Assert.Contains(result.Failures!, f => f.Contains("TrustedDelegates", StringComparison.Ordinal));
    }

    private static JsonNode Apply(string json, AdmissionDecision decision)
        => JsonPatchApplier.Apply(JsonNode.Parse(json)!, decision.Patch)!;
}
