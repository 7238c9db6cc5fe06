using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Mutation.Tests;

public sealed class EngineTests
{
    private static readonly MutationEngine Engine = new(Requests.Options());

    [Fact]
    public void Unsupported_kinds_are_allowed_and_skipped()
    {
        var input = Requests.Workload("", "v1", "Service", """{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}""");
        var decision = Engine.Decide(input);

        Assert.True(decision.Allowed);
        Assert.Equal(AdmissionOutcome.Skipped, decision.Outcome);
        Assert.Equal("unsupported-kind", Assert.Single(decision.Reasons).Code);
    }

    [Fact]
    public void Configured_excluded_namespace_is_never_mutated()
    {
        var engine = new MutationEngine(Requests.Options(o => o.ExcludedNamespaces = ["sidecars-system"]));
        var decision = engine.Decide(Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/inject":"true"}"""), ns: "sidecars-system"));
        Assert.Equal(AdmissionOutcome.Skipped, decision.Outcome);
        Assert.Equal("namespace-excluded", decision.Reasons[0].Code);

        var kubePublic = engine.Decide(Requests.Pod(GoldenCases.Pod(), ns: "kube-public"));
        Assert.Equal("namespace-excluded", kubePublic.Reasons[0].Code);
    }

    [Fact]
    public void Pod_agent_mounts_the_cluster_agent_ca_bundle_optional_and_read_only_and_is_told_its_path()
    {
        var input = Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"web"}"""));
        var pod = Requests.Apply(input, Engine.Decide(input));

        var volume = pod["spec"]!["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == SidecarsNames.TrustBundleVolume)!;
        Assert.Equal(SidecarsNames.TrustBundleConfigMap, volume["configMap"]!["name"]!.GetValue<string>());
        Assert.True(volume["configMap"]!["optional"]!.GetValue<bool>());
        var agent = pod["spec"]!["containers"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == SidecarsNames.PodAgentContainer)!;
        var mount = agent["volumeMounts"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == SidecarsNames.TrustBundleVolume)!;
        Assert.Equal(SidecarsNames.TrustBundleDirectory, mount["mountPath"]!.GetValue<string>());
        Assert.True(mount["readOnly"]!.GetValue<bool>());
        var args = agent["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal(SidecarsNames.TrustBundleFile, args[args.IndexOf("--cluster-agent-ca") + 1]);

        // Only the pod-agent sees it: the app containers do not.
        foreach (var container in pod["spec"]!["containers"]!.AsArray().Where(c => c!["name"]!.GetValue<string>() != SidecarsNames.PodAgentContainer))
        {
            Assert.DoesNotContain(container!["volumeMounts"]?.AsArray() ?? [], m => m!["name"]!.GetValue<string>() == SidecarsNames.TrustBundleVolume);
        }
    }

    [Fact]
    public void Dry_run_requests_are_answered_like_any_other()
    {
        var input = Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"web"}"""));
        var wet = Engine.Decide(input);
        var dry = Engine.Decide(input with { DryRun = true });

        Assert.Equal(wet.PatchJson.ToArray(), dry.PatchJson.ToArray());
    }

    [Fact]
    public void Invalid_blessing_or_secret_name_is_denied_with_a_reason()
    {
        var bad = Engine.Decide(Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"a:b"}""")));
        Assert.False(bad.Allowed);
        Assert.Equal("invalid-blessing", bad.Reasons[0].Code);

        var secret = Engine.Decide(Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"Web"}""")));
        Assert.Equal(AdmissionOutcome.Denied, secret.Outcome);
        Assert.Equal("invalid-secret-name", secret.Reasons[0].Code);
    }

    [Fact]
    public void Reinvocation_after_another_webhook_adds_nothing_twice()
    {
        var input = Requests.Pod(GoldenCases.Pod(labels: """{"klight.networkId":"n"}""", annotations: """{"sidecars.io/blessing":"web"}""", image: "LOCALREGISTRY/app:1"));
        var first = Engine.Decide(input);
        var pod = Requests.Apply(input, first);

        // A second webhook adds its own container, volume and env after ours.
        pod["spec"]!["containers"]!.AsArray().Add(new JsonObject { ["name"] = "other-proxy", ["image"] = "proxy:1" });
        pod["spec"]!["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "other", ["emptyDir"] = new JsonObject() });
        pod["spec"]!["containers"]![1]!["env"]!.AsArray().Add(new JsonObject { ["name"] = "OTHER", ["value"] = "1" });

        var second = Engine.Decide(input with { Object = Requests.ToElement(pod) });
        var final = JsonPatchApplier.Apply(pod.DeepClone(), second.Patch)!;

        Assert.Empty(second.Injected);
        var containers = final["spec"]!["containers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Single(containers, n => n == SidecarsNames.PodAgentContainer);
        Assert.Single(containers, n => n == SidecarsNames.LightpeerContainer);
        var volumes = final["spec"]!["volumes"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(volumes.Count, volumes.Distinct().Count());
        Assert.Single(final["spec"]!["imagePullSecrets"]!.AsArray());
        foreach (var container in final["spec"]!["containers"]!.AsArray())
        {
            var env = container!["env"]?.AsArray().Select(e => e!["name"]!.GetValue<string>()).ToList() ?? [];
            Assert.Equal(env.Count, env.Distinct().Count());
        }

        // The other webhook's new app container gets the socket (and the record says so): the only change.
        Assert.All(second.Patch, op => Assert.True(
            op.Path.StartsWith("/spec/containers/3/", StringComparison.Ordinal) || op.Path == "/metadata/annotations/sidecars.io~1injected", op.Path));
    }

    [Fact]
    public void Legacy_agent_goes_first_and_native_agent_is_an_init_sidecar()
    {
        var pod = GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"web"}""", init: """[{"name":"setup","image":"x"}]""");
        var legacy = Requests.Apply(Requests.Pod(pod), Engine.Decide(Requests.Pod(pod)));
        Assert.Equal(SidecarsNames.PodAgentContainer, legacy["spec"]!["containers"]![0]!["name"]!.GetValue<string>());
        Assert.NotNull(legacy["spec"]!["containers"]![0]!["lifecycle"]!["postStart"]);

        var native = new MutationEngine(Requests.Options(o => o.NativeSidecars = true));
        var nativePod = Requests.Apply(Requests.Pod(pod), native.Decide(Requests.Pod(pod)));
        var first = nativePod["spec"]!["initContainers"]![0]!;
        Assert.Equal(SidecarsNames.PodAgentContainer, first["name"]!.GetValue<string>());
        Assert.Equal("Always", first["restartPolicy"]!.GetValue<string>());
        Assert.NotNull(first["startupProbe"]);
        Assert.Equal("setup", nativePod["spec"]!["initContainers"]![1]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void Secret_is_mounted_read_only_in_the_agent_only()
    {
        var input = Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"web"}""", second: true));
        var pod = Requests.Apply(input, Engine.Decide(input));

        foreach (var container in pod["spec"]!["containers"]!.AsArray())
        {
            var mounts = container!["volumeMounts"]!.AsArray();
            var secret = mounts.FirstOrDefault(m => m!["name"]!.GetValue<string>() == SidecarsNames.SecretVolume);
            if (container["name"]!.GetValue<string>() == SidecarsNames.PodAgentContainer)
            {
                Assert.True(secret!["readOnly"]!.GetValue<bool>());
            }
            else
            {
                Assert.Null(secret);
                Assert.Contains(container["env"]!.AsArray(), e => e!["name"]!.GetValue<string>() == SidecarsNames.SocketEnv);
            }

            Assert.Contains(mounts, m => m!["name"]!.GetValue<string>() == SidecarsNames.SocketVolume);
        }
    }

    [Fact]
    public void Overrides_change_only_their_own_side()
    {
        var input = Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"web","sidecars.io/sidecar-limits":"cpu=1"}"""));
        var agent = Requests.Apply(input, Engine.Decide(input))["spec"]!["containers"]![0]!["resources"]!;

        Assert.Equal("1", agent["limits"]!["cpu"]!.GetValue<string>());
        Assert.Equal("128Mi", agent["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal("10m", agent["requests"]!["cpu"]!.GetValue<string>());
        Assert.Equal("32Mi", agent["requests"]!["memory"]!.GetValue<string>());
    }

    [Fact]
    public void Keys_with_slashes_and_tildes_are_escaped_in_patch_paths()
    {
        var input = Requests.Pod(GoldenCases.Pod(labels: """{"a~b/c":"1"}""", annotations: """{"x":"y"}"""));
        var decision = Engine.Decide(input);

        Assert.Contains(decision.Patch, op => op.Path == "/metadata/labels/sidecars.io~1owner");
        Assert.Contains(decision.Patch, op => op.Path == "/metadata/annotations/sidecars.io~1owner");
        var pod = Requests.Apply(input, decision);
        Assert.Equal("1", pod["metadata"]!["labels"]!["a~b/c"]!.GetValue<string>());
        Assert.Equal("alice", pod["metadata"]!["labels"]!["sidecars.io/owner"]!.GetValue<string>());
    }

    [Fact]
    public void Update_of_a_pod_is_unchanged()
    {
        var decision = Engine.Decide(Requests.Fixture("team-a_jupyter-alice_update.json"));
        Assert.Equal(AdmissionOutcome.Unchanged, decision.Outcome);
        Assert.Empty(decision.Patch);
        Assert.True(decision.Allowed);
    }

    [Fact]
    public void Oddly_shaped_objects_do_not_crash_the_engine()
    {
        foreach (var json in new[]
        {
            """{"metadata":[],"spec":"x"}""",
            """{"metadata":{"annotations":{"sidecars.io/blessing":"web","sidecars.io/inject":"true"}},"spec":{"containers":[1,null,{"name":3}],"volumes":{}}}""",
            """{"metadata":{"labels":{"klight.networkId":5}},"spec":{"containers":"none"}}""",
        })
        {
            var decision = Engine.Decide(Requests.Pod(json));
            Assert.True(decision.Allowed || decision.Outcome == AdmissionOutcome.Denied);
            JsonPatchApplier.Apply(JsonNode.Parse(json), decision.Patch);
        }
    }
}
