using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;

namespace Sidecars.Kubernetes;

// Serializer metadata for the kinds this library reads and writes, one small context per kind, each reached only from
// the code that handles that kind: a NativeAOT process links the code for the kinds it uses and no more (the client's
// own context describes every kind of the API). Each is used through its Shared instance, bound to the client's
// options (KubernetesJsonOptions).

/// <summary>The client's serializer options without its metadata: for contexts that describe a few kinds.</summary>
public static class KubernetesJsonOptions
{
    /// <summary>
    /// Options as the client's own: names as declared on the models, nulls left out, times as RFC 3339 (microseconds
    /// when there are fractions), durations as ISO 8601. Give them to a context's constructor.
    /// </summary>
    public static JsonSerializerOptions Create() => new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters =
        {
            new KubernetesJson.KubernetesDateTimeConverter(),
            new KubernetesJson.KubernetesDateTimeOffsetConverter(),
            new KubernetesJson.Iso8601TimeSpanConverter(),
        },
    };
}

/// <summary>What the apiserver answers on failure, also inside a watch stream (no untyped values in it).</summary>
[JsonSerializable(typeof(V1Status))]
internal sealed partial class StatusJsonContext : JsonSerializerContext
{
    public static StatusJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}

[JsonSerializable(typeof(V1Lease))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class LeaseJsonContext : JsonSerializerContext
{
    public static LeaseJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}

[JsonSerializable(typeof(V1Namespace))]
[JsonSerializable(typeof(V1NamespaceList))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class NamespaceJsonContext : JsonSerializerContext
{
    public static NamespaceJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}

[JsonSerializable(typeof(V1Pod))]
[JsonSerializable(typeof(V1PodList))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class PodJsonContext : JsonSerializerContext
{
    public static PodJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}

[JsonSerializable(typeof(V1Deployment))]
[JsonSerializable(typeof(V1DeploymentList))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class DeploymentJsonContext : JsonSerializerContext
{
    public static DeploymentJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}

[JsonSerializable(typeof(V1ConfigMap))]
[JsonSerializable(typeof(V1ConfigMapList))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ConfigMapJsonContext : JsonSerializerContext
{
    public static ConfigMapJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}

[JsonSerializable(typeof(V1Secret))]
[JsonSerializable(typeof(V1SecretList))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class SecretJsonContext : JsonSerializerContext
{
    public static SecretJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}

/// <summary>
/// Serializer metadata for the kinds this library handles, bound to <see cref="KubernetesJsonOptions"/>: each property
/// reaches only its own kind's context.
/// </summary>
public static class KubernetesJsonMetadata
{
    public static JsonTypeInfo<V1Status> Status => StatusJsonContext.Shared.V1Status;

    public static JsonTypeInfo<V1Lease> Lease => LeaseJsonContext.Shared.V1Lease;

    public static JsonTypeInfo<V1Namespace> Namespace => NamespaceJsonContext.Shared.V1Namespace;

    public static JsonTypeInfo<V1NamespaceList> NamespaceList => NamespaceJsonContext.Shared.V1NamespaceList;

    public static JsonTypeInfo<V1Pod> Pod => PodJsonContext.Shared.V1Pod;

    public static JsonTypeInfo<V1PodList> PodList => PodJsonContext.Shared.V1PodList;

    public static JsonTypeInfo<V1Deployment> Deployment => DeploymentJsonContext.Shared.V1Deployment;

    public static JsonTypeInfo<V1DeploymentList> DeploymentList => DeploymentJsonContext.Shared.V1DeploymentList;

    public static JsonTypeInfo<V1ConfigMap> ConfigMap => ConfigMapJsonContext.Shared.V1ConfigMap;

    public static JsonTypeInfo<V1ConfigMapList> ConfigMapList => ConfigMapJsonContext.Shared.V1ConfigMapList;

    public static JsonTypeInfo<V1Secret> Secret => SecretJsonContext.Shared.V1Secret;

    public static JsonTypeInfo<V1SecretList> SecretList => SecretJsonContext.Shared.V1SecretList;
}
