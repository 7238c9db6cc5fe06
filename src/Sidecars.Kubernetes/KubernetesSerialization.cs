using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;

namespace Sidecars.Kubernetes;

/// <summary>
/// Completes the client's source-generated serializer so that it writes back what it reads. An object read from the
/// apiserver carries <c>metadata.managedFields[].fieldsV1</c>, an untyped value read as a <see cref="JsonElement"/>,
/// which the client's own context has no metadata for: without this, replacing a Lease or a Secret as read, or
/// serializing a pod from an informer, throws <see cref="NotSupportedException"/>.
/// </summary>
public static class KubernetesSerialization
{
    private static int _configured;

    /// <summary>Adds the missing metadata once; runs when this assembly loads, before any client exists.</summary>
#pragma warning disable CA2255 // The serializer is process-wide and frozen at its first use: it must be completed first.
    [ModuleInitializer]
#pragma warning restore CA2255
    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) != 0)
        {
            return;
        }

        KubernetesJson.AddJsonOptions(options =>
        {
            if (options.IsReadOnly)
            {
                throw new InvalidOperationException(
                    "the Kubernetes serializer was used before Sidecars.Kubernetes completed it; call KubernetesSerialization.Configure first");
            }

            options.TypeInfoResolverChain.Add(UntypedValuesContext.Default);
        });
    }
}

/// <summary>The untyped values of Kubernetes objects: <c>fieldsV1</c>, and raw extensions read as JSON elements.</summary>
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class UntypedValuesContext : JsonSerializerContext;
