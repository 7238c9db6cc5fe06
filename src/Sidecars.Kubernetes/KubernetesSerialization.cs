using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;

namespace Sidecars.Kubernetes;

/// <summary>
/// The client's source-generated serializer, completed so that it writes back what it reads. An object read from the
/// apiserver carries <c>metadata.managedFields[].fieldsV1</c>, an untyped value read as a <see cref="JsonElement"/> that
/// the client's own context has no metadata for: without this, replacing a Secret or a webhook configuration as read,
/// or serializing a pod from an informer, throws <see cref="NotSupportedException"/>.
/// </summary>
public static class KubernetesSerialization
{
    /// <summary>The client's default options plus the untyped values; for serializing objects outside a request.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Completes the serializer of every client built from <paramref name="configuration"/>.</summary>
    public static KubernetesClientConfiguration Complete(KubernetesClientConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.AddJsonOptions(AddUntypedValues);
        return configuration;
    }

    /// <summary>JSON of a Kubernetes object as read, managed fields included.</summary>
    public static string Serialize(object value) => KubernetesJson.Serialize(value, Options);

    private static JsonSerializerOptions CreateOptions()
    {
        JsonSerializerOptions? copy = null;
        KubernetesJson.AddJsonOptions(defaults => copy = new JsonSerializerOptions(defaults));
        AddUntypedValues(copy!);
        copy!.MakeReadOnly();
        return copy;
    }

    private static void AddUntypedValues(JsonSerializerOptions options)
    {
        if (!options.TypeInfoResolverChain.Contains(UntypedValuesContext.Default))
        {
            options.TypeInfoResolverChain.Add(UntypedValuesContext.Default);
        }
    }
}

/// <summary>The untyped values of Kubernetes objects: <c>fieldsV1</c>, and raw extensions read as JSON elements.</summary>
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class UntypedValuesContext : JsonSerializerContext;
