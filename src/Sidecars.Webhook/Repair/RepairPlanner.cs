using System.Text.Json;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Mutation;

namespace Sidecars.Webhook.Repair;

/// <summary>What a stored pod lacks that admission would have given it.</summary>
public sealed record RepairFinding(string Namespace, string Name, IReadOnlyList<string> Missing, bool HasController);

/// <summary>
/// Asks the same mutation engine what it would do to a stored pod: a pod it would still inject into, or one without
/// an owner label although it opted in, was admitted without the webhook. Pure.
/// </summary>
public sealed class RepairPlanner(MutationEngine engine)
{
    private const string RepairUser = "system:sidecars:repair";

    public RepairFinding? Inspect(V1Pod pod, IReadOnlyDictionary<string, string>? namespaceLabels)
    {
        if (pod.Metadata.DeletionTimestamp is not null || pod.Status?.Phase is "Succeeded" or "Failed")
        {
            return null;
        }

        var input = new AdmissionInput
        {
            Uid = pod.Metadata.Uid ?? string.Empty,
            Kind = new GroupVersionKind(string.Empty, "v1", "Pod"),
            Operation = "CREATE",
            Namespace = pod.Metadata.NamespaceProperty,
            Name = pod.Metadata.Name,
            UserName = RepairUser,
            UserGroups = [],
            Object = JsonSerializer.SerializeToElement(pod, KubernetesJsonMetadata.Pod),
            NamespaceLabels = namespaceLabels,
        };
        var decision = engine.Decide(input);
        if (decision.Outcome == AdmissionOutcome.Skipped)
        {
            return null;
        }

        var missing = decision.Injected.Where(kv => kv.Value > 0).Select(kv => kv.Key).ToList();
        if (pod.Metadata.Labels?.ContainsKey(SidecarsLabels.Owner) != true)
        {
            missing.Add("owner-label");
        }

        return missing.Count == 0
            ? null
            : new RepairFinding(pod.Metadata.NamespaceProperty, pod.Metadata.Name, missing, pod.Metadata.OwnerReferences?.Any(o => o.Controller == true) == true);
    }
}
