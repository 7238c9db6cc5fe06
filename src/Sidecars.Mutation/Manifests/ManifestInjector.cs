using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation;

/// <summary>
/// Runs the webhook's engine over a manifest offline. Pods are decided as the user's CREATE; workloads get their
/// stamp, then their pod template is decided as the pod their controller would create, and the result is written
/// back into the template (so applying the output is a no-op for the webhook).
/// </summary>
public sealed class ManifestInjector(InjectionOptions options, ManifestContext context)
{
    private readonly MutationEngine _engine = new(options);

    public IReadOnlyList<InjectedDocument> Inject(string manifest)
    {
        var documents = YamlJson.ReadDocuments(manifest);
        var results = new List<InjectedDocument>(documents.Count);
        for (var i = 0; i < documents.Count; i++)
        {
            results.Add(InjectOne(i, documents[i]));
        }

        return results;
    }

    private InjectedDocument InjectOne(int index, JsonNode original)
    {
        var document = original.DeepClone();
        var kind = GroupVersionKindOf(document);
        var metadata = document["metadata"] as JsonObject;
        var ns = metadata?["namespace"]?.GetValue<string>() ?? context.DefaultNamespace;
        var name = metadata?["name"]?.GetValue<string>() ?? metadata?["generateName"]?.GetValue<string>() ?? "";
        var decision = _engine.Decide(Input(kind, ns, name, context.UserName, document));
        document = JsonPatchApplier.Apply(document, decision.Patch)!;

        AdmissionDecision? podDecision = null;
        string? podUser = null;
        if (WorkloadKinds.TemplatePath(kind) is { } path && Navigate(document, path) is JsonObject template)
        {
            podUser = ControllerFor(kind.Kind);
            var pod = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = template["metadata"]?.DeepClone() ?? new JsonObject(),
                ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject(),
            };
            podDecision = _engine.Decide(Input(GroupVersionKind.Pod, ns, "", podUser, pod));
            var mutated = JsonPatchApplier.Apply(pod, podDecision.Patch)!;
            template["metadata"] = mutated["metadata"]?.DeepClone();
            template["spec"] = mutated["spec"]?.DeepClone();
        }

        return new InjectedDocument(index, kind.Kind, ns, name, original, document, decision, podDecision, podUser, context.UserName);
    }

    private AdmissionInput Input(GroupVersionKind kind, string ns, string name, string user, JsonNode document) => new()
    {
        Uid = "offline",
        Kind = kind,
        Operation = "CREATE",
        Namespace = ns,
        Name = name,
        UserName = user,
        Object = JsonSerializer.SerializeToElement(document, ManifestJsonContext.Default.JsonNode),
        NamespaceLabels = context.NamespaceLabels,
    };

    private static GroupVersionKind GroupVersionKindOf(JsonNode document)
    {
        var apiVersion = document["apiVersion"]?.GetValue<string>() ?? "";
        var kind = document["kind"]?.GetValue<string>() ?? "";
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? new GroupVersionKind("", apiVersion, kind) : new GroupVersionKind(apiVersion[..slash], apiVersion[(slash + 1)..], kind);
    }

    private static JsonNode? Navigate(JsonNode document, IReadOnlyList<string> path)
    {
        JsonNode? node = document;
        foreach (var member in path)
        {
            node = node is JsonObject map ? map[member] : null;
        }

        return node;
    }

    private string ControllerFor(string kind)
    {
        var account = kind switch
        {
            "Deployment" or "ReplicaSet" => "replicaset-controller",
            "StatefulSet" => "statefulset-controller",
            "DaemonSet" => "daemon-set-controller",
            "Job" or "CronJob" => "job-controller",
            "ReplicationController" => "replication-controller",
            _ => "replicaset-controller",
        };
        var user = "system:serviceaccount:kube-system:" + account;
        return Array.IndexOf(options.TrustedControllers, user) >= 0 ? user : options.TrustedControllers.FirstOrDefault() ?? user;
    }
}
