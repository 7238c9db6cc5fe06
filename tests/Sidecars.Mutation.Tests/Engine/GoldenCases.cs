using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Mutation.Tests;

/// <summary>The golden table: every feature alone, together, in both sidecar modes, and every recorded fixture.</summary>
internal static class GoldenCases
{
    private const string Image = "docker.io/library/busybox:1.36";

    public static readonly IReadOnlyDictionary<string, Func<(InjectionOptions Options, AdmissionInput Input)>> All =
        new Dictionary<string, Func<(InjectionOptions, AdmissionInput)>>
        {
            // Each feature alone (registry rewriting off where it would add a pull secret for the agent image).
            ["owner-only"] = () => (Requests.Options(), Requests.Pod(Pod())),
            ["pod-agent-only"] = () => (NoRegistry(), Requests.Pod(Pod(annotations: Blessing("web")))),
            ["lightpeer-only"] = () => (NoRegistry(), Requests.Pod(Pod(labels: """{"klight.networkId":"net-7"}"""))),
            ["lightpeer-own-port"] = () => (NoRegistry(), Requests.Pod(WithContainer(Pod(labels: """{"klight.networkId":"net-7"}"""),
                """{"name":"peer","image":"docker.io/library/busybox:1.36","ports":[{"name":"klight-port","containerPort":9081}]}"""))),
            ["lightpeer-own-name"] = () => (NoRegistry(), Requests.Pod(WithContainer(Pod(labels: """{"klight.networkId":"net-7"}"""),
                """{"name":"lightpeer","image":"docker.io/library/busybox:1.36"}"""))),
            ["registry-only"] = () => (Requests.Options(), Requests.Pod(Pod(
                image: "LOCALREGISTRY/team/app:1.2",
                init: """[{"name":"setup","image":"LOCALREGISTRY/tools/setup@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]"""))),
            ["volume-only"] = () => (Requests.Options(), Requests.Pod(Pod(volumes: """[{"name":"sciencedata","emptyDir":{}}]"""), user: "alice@example.org")),
            ["env-only"] = () => (Requests.Options(), Requests.Pod(Pod(
                annotations: """{"sidecars.io/settings":"{\"app\":{\"HOME_SERVER\":\"new\",\"PORT\":8080}}"}""",
                env: """[{"name":"HOME_SERVER","value":"old"},{"name":"KEEP","value":"1"}]"""))),

            // Options and per-pod variations.
            ["pod-agent-blessing-secret"] = () => (NoRegistry(), Requests.Pod(Pod(
                annotations: """{"sidecars.io/blessing":"web","sidecars.io/blessing-secret":"web-key"}"""))),
            ["pod-agent-requests-override"] = () => (NoRegistry(), Requests.Pod(Pod(
                annotations: """{"sidecars.io/blessing":"web","sidecars.io/sidecar-requests":"cpu=50m"}"""))),
            ["pod-agent-limits-override"] = () => (NoRegistry(), Requests.Pod(Pod(
                annotations: """{"sidecars.io/blessing":"web","sidecars.io/sidecar-limits":"memory=256Mi,cpu=1"}"""))),
            ["pod-agent-bad-override"] = () => (NoRegistry(), Requests.Pod(Pod(
                annotations: """{"sidecars.io/blessing":"web","sidecars.io/sidecar-limits":"memory"}"""))),
            ["settings-invalid-json"] = () => (Requests.Options(), Requests.Pod(Pod(annotations: """{"sidecars.io/settings":"{not json"}"""))),
            ["settings-unknown-container"] = () => (Requests.Options(), Requests.Pod(Pod(
                annotations: """{"sidecars.io/settings":"{\"ghost\":{\"A\":\"1\"},\"app\":{\"B\":\"2\",\"C\":{}}}"}"""))),
            ["forged-owner"] = () => (Requests.Options(), Requests.Pod(Pod(
                labels: """{"sidecars.io/owner":"mallory"}""",
                annotations: """{"sidecars.io/owner":"mallory","sidecars.io/created-by":"mallory"}"""), user: "alice")),
            ["service-account-owner"] = () => (Requests.Options(), Requests.Pod(Pod(), user: "system:serviceaccount:ci:deployer")),
            ["pull-secret-present"] = () => (Requests.Options(), Requests.Pod(Pod(image: "LOCALREGISTRY/app:1", pullSecrets: """[{"name":"regcred"}]"""))),
            ["opt-in-annotation"] = () => (Requests.Options(), Requests.Pod(Pod(annotations: """{"sidecars.io/inject":"true"}"""), namespaceLabels: Requests.NoLabels)),

            // Everything together.
            ["all-legacy"] = () => (Requests.Options(), Requests.Pod(Everything())),
            ["all-native"] = () => (Requests.Options(o => o.NativeSidecars = true), Requests.Pod(Everything())),
            ["all-legacy-job"] = () => (Requests.Options(), Requests.Pod(Everything(restartPolicy: "OnFailure", serviceAccount: true))),
            ["all-legacy-job-tokens"] = () => (Requests.Options(), Requests.Pod(Everything(restartPolicy: "Never", serviceAccount: true, copyToken: true))),

            // Token collection and Job completion.
            ["tokens-only"] = () => (NoRegistry(), Requests.Pod(Pod(annotations: CopyToken("token, key2 token"), second: true))),
            ["tokens-with-pod-agent"] = () => (NoRegistry(), Requests.Pod(Pod(annotations: """{"sidecars.io/blessing":"web","sciencedata.dk/copy-token":"token"}"""))),
            ["tokens-only-native"] = () => (Requests.Options(o => { o.Registry = ""; o.NativeSidecars = true; }), Requests.Pod(Pod(annotations: CopyToken("token")))),
            ["tokens-only-job"] = () => (NoRegistry(), Requests.Pod(Pod(annotations: CopyToken("token"), restartPolicy: "Never", serviceAccount: true))),
            ["tokens-invalid-keys"] = () => (NoRegistry(), Requests.Pod(Pod(annotations: CopyToken("../etc/passwd .. ok"), second: true))),
            ["tokens-all-invalid"] = () => (NoRegistry(), Requests.Pod(Pod(annotations: CopyToken("a/b")))),
            ["tokens-custom-directory"] = () => (Requests.Options(o => { o.Registry = ""; o.TokenDirectory = "/tmp"; o.TokenVolumeSizeLimit = "8Mi"; }),
                Requests.Pod(Pod(annotations: CopyToken("key")))),
            ["lightpeer-job"] = () => (NoRegistry(), Requests.Pod(Pod(labels: """{"klight.networkId":"net-7"}""", restartPolicy: "Never", serviceAccount: true))),
            ["job-without-token-mount"] = () => (NoRegistry(), Requests.Pod(Pod(annotations: Blessing("batch"), restartPolicy: "Never"))),
            ["job-automount-off"] = () => (NoRegistry(), Requests.Pod(WithSpec(
                Pod(annotations: Blessing("batch"), restartPolicy: "Never"), "automountServiceAccountToken", false))),

            // The recorded requests from kube-apiserver 1.20.2.
            ["fixture-default-plain"] = () => (Requests.Options(), Requests.Fixture("default_plain_create.json")),
            ["fixture-kube-system"] = () => (Requests.Options(), Requests.Fixture("kube-system_sys-pod_create.json", Requests.OptedIn)),
            ["fixture-dry-run-opted-out"] = () => (Requests.Options(), Requests.Fixture("team-a_dry_create.json")),
            ["fixture-deployment-pod"] = () => (Requests.Options(), Requests.Fixture("team-a_fortuned-deployment-pod_create.json",
                edit: pod => pod.SetAnnotation(SidecarsAnnotations.CreatedBy, "alice"))),
            ["fixture-deployment-pod-unstamped"] = () => (Requests.Options(), Requests.Fixture("team-a_fortuned-deployment-pod_create.json")),
            ["fixture-job-pod"] = () => (Requests.Options(), Requests.Fixture("team-a_batch-1-_create.json",
                edit: pod => pod.SetAnnotation(SidecarsAnnotations.CreatedBy, "bob"))),
            ["fixture-jupyter-alice"] = () => (Requests.Options(), Requests.Fixture("team-a_jupyter-alice_create.json",
                edit: pod => pod.SetAnnotation(SidecarsAnnotations.Settings, """{"jupyter":{"HOME_SERVER_HOSTNAME":"sciencedata.dk"},"init":{"MODE":"fast"}}"""))),
            ["fixture-jupyter-alice-update"] = () => (Requests.Options(), Requests.Fixture("team-a_jupyter-alice_update.json")),
            ["fixture-lightpeer"] = () => (Requests.Options(), Requests.Fixture("team-a_lightpeer-a_create.json")),
        };

    public static IEnumerable<object[]> Names() => All.Keys.Select(k => new object[] { k });

    private static InjectionOptions NoRegistry() => Requests.Options(o => o.Registry = "");

    private static string Blessing(string extension) => $$"""{"sidecars.io/blessing":"{{extension}}"}""";

    private static string WithSpec(string pod, string field, JsonNode value)
    {
        var node = JsonNode.Parse(pod)!;
        node["spec"]![field] = value;
        return node.ToJsonString();
    }

    private static string WithContainer(string pod, string container)
    {
        var node = JsonNode.Parse(pod)!;
        node["spec"]!["containers"]!.AsArray().Add(JsonNode.Parse(container));
        return node.ToJsonString();
    }

    private static string CopyToken(string keys) => $$"""{"sciencedata.dk/copy-token":"{{keys}}"}""";

    private static string Everything(string restartPolicy = "Always", bool serviceAccount = false, bool copyToken = false) => Pod(
        labels: """{"app":"web","klight.networkId":"net-1"}""",
        annotations: copyToken
            ? """{"sidecars.io/blessing":"web","sidecars.io/settings":"{\"app\":{\"MODE\":\"prod\"}}","sidecars.io/sidecar-requests":"cpu=20m","sciencedata.dk/copy-token":"token"}"""
            : """{"sidecars.io/blessing":"web","sidecars.io/settings":"{\"app\":{\"MODE\":\"prod\"}}","sidecars.io/sidecar-requests":"cpu=20m"}""",
        image: "LOCALREGISTRY/team/app:2",
        init: """[{"name":"setup","image":"LOCALREGISTRY/tools/setup:1"}]""",
        volumes: """[{"name":"sciencedata","emptyDir":{}}]""",
        restartPolicy: restartPolicy,
        second: true,
        serviceAccount: serviceAccount);

    public static string Pod(string? labels = null, string? annotations = null, string image = Image, string? init = null,
        string? volumes = null, string? env = null, string? pullSecrets = null, string restartPolicy = "Always", bool second = false,
        bool serviceAccount = false)
    {
        var metadata = new JsonObject { ["name"] = "app", ["namespace"] = "team-a" };
        if (labels is not null)
        {
            metadata["labels"] = JsonNode.Parse(labels);
        }

        if (annotations is not null)
        {
            metadata["annotations"] = JsonNode.Parse(annotations);
        }

        var app = new JsonObject { ["name"] = "app", ["image"] = image };
        if (env is not null)
        {
            app["env"] = JsonNode.Parse(env);
        }

        var containers = new JsonArray(app);
        if (second)
        {
            containers.Add(new JsonObject { ["name"] = "helper", ["image"] = Image, ["env"] = new JsonArray() });
        }

        var spec = new JsonObject { ["containers"] = containers, ["restartPolicy"] = restartPolicy };
        if (serviceAccount)
        {
            // What the ServiceAccount admission plugin adds before webhooks run.
            foreach (var container in containers)
            {
                container!["volumeMounts"] = new JsonArray(new JsonObject
                {
                    ["name"] = "default-token-abcde",
                    ["readOnly"] = true,
                    ["mountPath"] = "/var/run/secrets/kubernetes.io/serviceaccount",
                });
            }

            volumes ??= "[]";
            var list = JsonNode.Parse(volumes)!.AsArray();
            list.Add(new JsonObject { ["name"] = "default-token-abcde", ["secret"] = new JsonObject { ["secretName"] = "default-token-abcde" } });
            volumes = list.ToJsonString();
        }

        if (init is not null)
        {
            spec["initContainers"] = JsonNode.Parse(init);
        }

        if (volumes is not null)
        {
            spec["volumes"] = JsonNode.Parse(volumes);
        }

        if (pullSecrets is not null)
        {
            spec["imagePullSecrets"] = JsonNode.Parse(pullSecrets);
        }

        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = metadata, ["spec"] = spec }.ToJsonString();
    }
}
