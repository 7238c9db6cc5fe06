using System.Text;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation.Tests;

/// <summary>
/// The patch as bytes: every golden case and a matrix of option sets over a pod that uses every feature, compared byte
/// for byte with golden-patch/&lt;case&gt;.json. The configuration-only parts of the sidecars are serialised once per
/// engine; these files hold them to what the apiserver has always been sent. Set UPDATE_GOLDEN=1 to rewrite them.
/// </summary>
public sealed class PatchBytesTests
{
    private const string Everything = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"app","namespace":"team-a",
        "labels":{"app":"web","klight.networkId":"net-<é>&'1"},
        "annotations":{"sidecars.io/blessing":"web","sidecars.io/export-tls":"true","sidecars.io/settings":"{\"app\":{\"MODE\":\"prod<>\"}}",
        "sidecars.io/sidecar-requests":"cpu=20m","sidecars.io/sidecar-limits":"memory=1Gi,ephemeral-storage=1Gi","sciencedata.dk/copy-token":"token"}},
        "spec":{"restartPolicy":"Never","containers":[
        {"name":"app","image":"LOCALREGISTRY/team/app:2","volumeMounts":[{"name":"default-token-abcde","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}]},
        {"name":"helper","image":"docker.io/library/busybox:1.36","env":[]}],
        "initContainers":[{"name":"setup","image":"LOCALREGISTRY/tools/setup:1"}],
        "volumes":[{"name":"sciencedata","emptyDir":{}},{"name":"default-token-abcde","secret":{"secretName":"default-token-abcde"}}]}}
        """;

    private const string Plain = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"app","namespace":"team-a","labels":{"klight.networkId":"n"},
        "annotations":{"sidecars.io/blessing":"web"}},"spec":{"containers":[{"name":"app","image":"docker.io/library/busybox:1.36"}]}}
        """;

    /// <summary>Option sets that change the injected sidecars; each must give a patch of its own.</summary>
    private static readonly IReadOnlyDictionary<string, Action<InjectionOptions>> OptionSets = new Dictionary<string, Action<InjectionOptions>>
    {
        ["defaults"] = _ => { },
        ["native"] = o => o.NativeSidecars = true,
        ["no-liveness"] = o => o.Probes.Liveness = false,
        ["probes"] = o =>
        {
            o.Probes.InitialDelaySeconds = 5;
            o.Probes.PeriodSeconds = 7;
            o.Probes.TimeoutSeconds = 3;
            o.Probes.FailureThreshold = 4;
            o.Probes.StartupFailureThreshold = 30;
            o.Probes.LivenessPeriodSeconds = 20;
            o.Probes.LivenessFailureThreshold = 2;
        },
        ["security-loose"] = o =>
        {
            o.SecurityContext.RunAsUser = null;
            o.SecurityContext.RunAsNonRoot = false;
            o.SecurityContext.ReadOnlyRootFilesystem = false;
            o.SecurityContext.AllowPrivilegeEscalation = true;
            o.SecurityContext.DropAllCapabilities = false;
            o.SecurityContext.Seccomp = SidecarSeccomp.Unset;
        },
        ["seccomp-localhost"] = o => o.SecurityContext.Seccomp = SidecarSeccomp.Localhost,
        ["no-cluster-agent"] = o => o.ClusterAgentAddress = "",
        ["escaped-strings"] = o =>
        {
            o.ClusterAgentAddress = "https://agent<&>'é\"/x";
            o.AgentBinary = "/opt/agent <bin>";
            o.PodTokenAudience = "aud+<x>";
            o.TokenDirectory = "/run/tok&ens";
        },
        ["ports-and-image"] = o =>
        {
            o.LightpeerPort = 9999;
            o.AgentImage = "quay.io/x/agent:2";
            o.Registry = "";
        },
        ["resources"] = o =>
        {
            o.PodAgent.Requests["ephemeral-storage"] = "10Mi";
            o.PodAgent.Limits.Remove("cpu");
            o.Lightpeer.Requests["cpu"] = "5m";
        },
        ["legacy-jobs-off"] = o => o.LegacyJobSupport = false,
    };

    public static IEnumerable<object[]> Cases =>
        GoldenCases.Names().Concat(OptionSets.Keys.SelectMany(o => new[] { new object[] { "options-" + o }, ["options-plain-" + o] }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Patch_bytes_match_golden(string name)
    {
        var (options, input) = Case(name);
        var decision = new MutationEngine(options).Decide(input);
        var actual = Encoding.UTF8.GetString(decision.PatchJson.Span) + "\n";
        var path = Path.Combine(TestPaths.ProjectDirectory, "golden-patch", name + ".json");

        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"golden {path} is missing; run with UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    [Fact]
    public void Every_option_set_gives_a_patch_of_its_own()
    {
        foreach (var pod in new[] { Everything, Plain })
        {
            // The plain pod is no Job pod: the legacy Job support does not show in it.
            var patches = OptionSets.Where(o => pod == Everything || o.Key != "legacy-jobs-off")
                .ToDictionary(o => o.Key, o => Encoding.UTF8.GetString(Decide(o.Value, pod).PatchJson.Span));

            Assert.Equal(patches.Count, patches.Values.Distinct(StringComparer.Ordinal).Count());
        }
    }

    [Fact]
    public void Engines_with_different_options_do_not_share_sidecars()
    {
        var first = Decide(_ => { }, Plain);
        var second = Decide(o => o.Probes.PeriodSeconds = 9, Plain);
        var again = Decide(_ => { }, Plain);

        Assert.NotEqual(first.PatchJson.ToArray(), second.PatchJson.ToArray());
        Assert.Equal(first.PatchJson.ToArray(), again.PatchJson.ToArray());
    }

    [Fact]
    public void The_patch_operations_are_the_patch_json()
    {
        foreach (var (_, configure) in OptionSets)
        {
            var decision = Decide(configure, Everything);
            var parsed = JsonNode.Parse(decision.PatchJson.Span)!.AsArray();

            Assert.Equal(parsed.Count, decision.Patch.Count);
            for (var i = 0; i < parsed.Count; i++)
            {
                Assert.Equal(parsed[i]!["op"]!.GetValue<string>(), decision.Patch[i].Op);
                Assert.Equal(parsed[i]!["path"]!.GetValue<string>(), decision.Patch[i].Path);
                Assert.True(JsonNode.DeepEquals(parsed[i]!["value"], decision.Patch[i].Value));
            }
        }
    }

    private static AdmissionDecision Decide(Action<InjectionOptions> configure, string pod) =>
        new MutationEngine(Requests.Options(configure)).Decide(Requests.Pod(pod, user: "alice<&>"));

    private static (InjectionOptions Options, AdmissionInput Input) Case(string name)
    {
        if (name.StartsWith("options-plain-", StringComparison.Ordinal))
        {
            return (Requests.Options(OptionSets[name["options-plain-".Length..]]), Requests.Pod(Plain, user: "alice<&>"));
        }

        if (name.StartsWith("options-", StringComparison.Ordinal))
        {
            return (Requests.Options(OptionSets[name["options-".Length..]]), Requests.Pod(Everything, user: "alice<&>"));
        }

        return GoldenCases.All[name]();
    }
}
