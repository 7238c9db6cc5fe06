using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;

namespace Sidecars.Clusters;

/// <summary>Validates a create request and builds the cluster's Deployment. Pure.</summary>
public static partial class ClusterDeploymentBuilder
{
    public static string Selector(string name) =>
        $"{SidecarsLabels.ManagedBy}={SidecarsLabels.ManagedByValue},{SidecarsLabels.Cluster}={name}";

    /// <summary>The reason the request is invalid, or null.</summary>
    public static string? Validate(CreateClusterRequest request, int maxReplicas)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!NamePattern().IsMatch(request.Name) || request.Name.Length > 47)
        {
            return $"name '{request.Name}' must be a DNS label of at most 47 characters (lower-case letters, digits, '-')";
        }

        if (request.Replicas < 0 || request.Replicas > maxReplicas)
        {
            return $"replicas must be between 0 and {maxReplicas}";
        }

        if (string.IsNullOrWhiteSpace(request.Image) && string.IsNullOrWhiteSpace(request.PodTemplateJson))
        {
            return "give an image or a pod template";
        }

        if (!string.IsNullOrWhiteSpace(request.PodTemplateJson))
        {
            try
            {
                var template = KubernetesJson.Deserialize<V1PodTemplateSpec>(request.PodTemplateJson);
                if (template?.Spec?.Containers is not { Count: > 0 })
                {
                    return "the pod template needs spec.containers";
                }
            }
            catch (JsonException e)
            {
                return $"the pod template is not valid JSON for a PodTemplateSpec: {e.Message}";
            }
        }

        return null;
    }

    /// <param name="deadline">Stored on the Deployment, so whichever replica leads enforces it.</param>
    public static V1Deployment Build(CreateClusterRequest request, string @namespace, CreateDeadline deadline)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(deadline);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue,
            [SidecarsLabels.Cluster] = request.Name,
        };
        var template = string.IsNullOrWhiteSpace(request.PodTemplateJson)
            ? new V1PodTemplateSpec
            {
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "main", Image = request.Image, Args = request.Args.Count > 0 ? [.. request.Args] : null }],
                },
            }
            : KubernetesJson.Deserialize<V1PodTemplateSpec>(request.PodTemplateJson);
        template.Metadata ??= new V1ObjectMeta();
        template.Metadata.Labels = Merge(template.Metadata.Labels, labels);
        if (request.NodeSelector.Count > 0)
        {
            template.Spec.NodeSelector = Merge(template.Spec.NodeSelector, request.NodeSelector);
        }

        return new V1Deployment
        {
            Metadata = new V1ObjectMeta
            {
                Name = request.Name,
                NamespaceProperty = @namespace,
                Labels = new Dictionary<string, string>(labels),
                Annotations = new Dictionary<string, string>(deadline.ToAnnotations()),
            },
            Spec = new V1DeploymentSpec
            {
                Replicas = request.Replicas,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(labels) },
                Template = template,
                // Kubernetes' own deadline is kept beyond ours so that ours decides.
                ProgressDeadlineSeconds = (int)Math.Max(600, deadline.Timeout.TotalSeconds + 60),
            },
        };
    }

    private static Dictionary<string, string> Merge(IDictionary<string, string>? existing, IEnumerable<KeyValuePair<string, string>> add)
    {
        var result = existing is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(existing, StringComparer.Ordinal);
        foreach (var (key, value) in add)
        {
            result[key] = value;
        }

        return result;
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex NamePattern();
}
