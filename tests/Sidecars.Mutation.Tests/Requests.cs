using System.Text.Json;
using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Mutation.Tests;

/// <summary>Builds admission inputs from the recorded fixtures or from pod JSON written in the test.</summary>
internal static class Requests
{
    public static readonly IReadOnlyDictionary<string, string> OptedIn =
        new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled };

    public static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();

    public static InjectionOptions Options(Action<InjectionOptions>? configure = null)
    {
        var options = new InjectionOptions
        {
            Registry = "registry.example.org/team",
            ImagePullSecret = "regcred",
            ClusterAgentAddress = "https://cluster-agent.sidecars-system.svc:8443",
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Reads a recorded AdmissionReview; <paramref name="edit"/> may change the pod before it is decided.</summary>
    public static AdmissionInput Fixture(string file, IReadOnlyDictionary<string, string>? namespaceLabels = null, Action<JsonObject>? edit = null)
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture(file));
        Assert.True(AdmissionReviewCodec.TryRead(bytes, out var input, out var error), error);
        input = input with { NamespaceLabels = namespaceLabels ?? (input.Namespace == "team-a" ? OptedIn : NoLabels) };
        if (edit is not null)
        {
            var node = JsonNode.Parse(input.Object.GetRawText())!.AsObject();
            edit(node);
            input = input with { Object = ToElement(node) };
        }

        return input;
    }

    public static AdmissionInput Pod(string json, string user = "alice", string ns = "team-a",
        IReadOnlyDictionary<string, string>? namespaceLabels = null, string operation = "CREATE") => new()
    {
        Uid = "uid-1",
        Kind = GroupVersionKind.Pod,
        Resource = "pods",
        Operation = operation,
        Namespace = ns,
        Name = (JsonNode.Parse(json)?["metadata"] as JsonObject)?["name"]?.ToString(),
        UserName = user,
        Object = JsonElement.Parse(json),
        NamespaceLabels = namespaceLabels ?? OptedIn,
    };

    public static AdmissionInput Workload(string group, string version, string kind, string json, string user = "alice",
        string operation = "CREATE", string? oldJson = null, string ns = "team-a") => new()
    {
        Uid = "uid-2",
        Kind = new GroupVersionKind(group, version, kind),
        Operation = operation,
        Namespace = ns,
        UserName = user,
        Object = JsonElement.Parse(json),
        OldObject = oldJson is null ? null : JsonElement.Parse(oldJson),
    };

    public static JsonElement ToElement(JsonNode node) => JsonElement.Parse(node.ToJsonString());

    /// <summary>Applies the decision's patch to the input's object.</summary>
    public static JsonObject Apply(AdmissionInput input, AdmissionDecision decision)
    {
        var node = JsonNode.Parse(input.Object.GetRawText())!;
        return JsonPatchApplier.Apply(node, decision.Patch)!.AsObject();
    }

    public static JsonObject SetAnnotation(this JsonObject pod, string key, string value)
    {
        var metadata = pod["metadata"]!.AsObject();
        if (metadata["annotations"] is not JsonObject annotations)
        {
            metadata["annotations"] = annotations = [];
        }

        annotations[key] = value;
        return pod;
    }
}
