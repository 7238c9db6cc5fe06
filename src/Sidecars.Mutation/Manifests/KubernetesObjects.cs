using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Sidecars.Mutation;

/// <summary>
/// Reads the documents of a (multi-document) YAML or JSON manifest as the Kubernetes objects their apiVersion and kind
/// name, through the client's source-generated serializer. A kind outside <see cref="Known"/> is read as a bare
/// <see cref="KubernetesObject"/> (apiVersion and kind only), for the caller to refuse by name.
/// </summary>
public static class KubernetesObjects
{
    private static readonly Dictionary<(string ApiVersion, string Kind), Func<JsonNode, IKubernetesObject>> Readers = new()
    {
        [("v1", V1Pod.KubeKind)] = n => Read<V1Pod>(n),
        [("v1", V1Service.KubeKind)] = n => Read<V1Service>(n),
        [("v1", V1ConfigMap.KubeKind)] = n => Read<V1ConfigMap>(n),
        [("v1", V1Secret.KubeKind)] = n => Read<V1Secret>(n),
        [("v1", V1Namespace.KubeKind)] = n => Read<V1Namespace>(n),
        [("v1", V1ServiceAccount.KubeKind)] = n => Read<V1ServiceAccount>(n),
        [("apps/v1", V1Deployment.KubeKind)] = n => Read<V1Deployment>(n),
        [("apps/v1", V1StatefulSet.KubeKind)] = n => Read<V1StatefulSet>(n),
        [("apps/v1", V1DaemonSet.KubeKind)] = n => Read<V1DaemonSet>(n),
        [("batch/v1", V1Job.KubeKind)] = n => Read<V1Job>(n),
        [("networking.k8s.io/v1", V1Ingress.KubeKind)] = n => Read<V1Ingress>(n),
        [("networking.k8s.io/v1", V1NetworkPolicy.KubeKind)] = n => Read<V1NetworkPolicy>(n),
        [("admissionregistration.k8s.io/v1", V1MutatingWebhookConfiguration.KubeKind)] = n => Read<V1MutatingWebhookConfiguration>(n),
    };

    /// <summary>The apiVersion and kind pairs read into their model types.</summary>
    public static IReadOnlyCollection<(string ApiVersion, string Kind)> Known => Readers.Keys;

    /// <summary>Every non-empty document of <paramref name="text"/>, in order.</summary>
    /// <exception cref="FormatException">
    /// The text is not YAML or JSON, a document is not a mapping with apiVersion and kind, or a known kind's fields do
    /// not have the types Kubernetes gives them; the message says which.
    /// </exception>
    public static IReadOnlyList<IKubernetesObject> ReadAll(string text)
    {
        var objects = new List<IKubernetesObject>();
        foreach (var document in YamlJson.ReadDocuments(text))
        {
            if (document is not JsonObject mapping)
            {
                throw new FormatException("a document is not a mapping of fields");
            }

            var apiVersion = Text(mapping, "apiVersion");
            var kind = Text(mapping, "kind");
            if (apiVersion is null || kind is null)
            {
                throw new FormatException("a document has no apiVersion and kind");
            }

            objects.Add(Readers.TryGetValue((apiVersion, kind), out var read)
                ? Describe(() => read(mapping), apiVersion, kind)
                : new KubernetesObject { ApiVersion = apiVersion, Kind = kind });
        }

        return objects;
    }

    /// <summary>The one document of <paramref name="text"/>, which must be a <typeparamref name="T"/>.</summary>
    /// <exception cref="FormatException">See <see cref="ReadAll"/>; also when the text holds another kind or several documents.</exception>
    public static T ReadOne<T>(string text)
        where T : class, IKubernetesObject
    {
        var objects = ReadAll(text);
        return objects is [T one]
            ? one
            : throw new FormatException(objects.Count == 1
                ? $"the manifest holds a {objects[0].ApiVersion}/{objects[0].Kind}, not a {typeof(T).Name}"
                : $"the manifest holds {objects.Count} documents, not one {typeof(T).Name}");
    }

    private static T Read<T>(JsonNode node) => KubernetesJson.Deserialize<T>(node);

    private static IKubernetesObject Describe(Func<IKubernetesObject> read, string apiVersion, string kind)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new FormatException($"a {apiVersion}/{kind} that does not fit its schema: {e.Message}", e);
        }
    }

    private static string? Text(JsonObject mapping, string name) =>
        mapping[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;
}
